"""Benchmark of the analysis agent's `code_analysis` against bandit and radon run directly.

`python bench/analysis.py` copies this repository's Python (actors/, api/, events/,
amas/, tests/: ~25,000 lines) into a temporary folder, then alternates, `--reps` times:

* **amas**: the `code_analysis` skill itself, in this process (the code an agent runs:
  every file read, parsed and tokenized once, bandit's checks and radon's complexity and
  maintainability on the same tree), wall time including its worker thread;
* **tools**: `bandit -r -q -f json DIR` and then `radon cc -j DIR`, as subprocesses
  (what a user would run), wall time of both.

It prints each run, the medians and their ratio (target: amas <= 1.2x the tools), and
checks that the skill found as many bandit issues as bandit did.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/analysis.py` puts bench/, not the root, first
    sys.path.insert(0, str(ROOT))

from actors.agents.scope import CodeScope, NetworkScope, Scopes  # noqa: E402
from actors.agents.skills import SKILLS  # noqa: E402
from bench import machine  # noqa: E402
from bench.figures import verdict  # noqa: E402

TARGET_RATIO = 1.2
FOLDERS = ("actors", "api", "events", "amas", "tests")


async def _amas(folder: Path) -> tuple[float, int]:
    scopes = Scopes(NetworkScope.parse(None), CodeScope.parse(str(folder), folder))

    async def progress(percent: int, message: str) -> None:
        return None

    started = time.perf_counter()
    result = await SKILLS["code_analysis"](
        {"path": str(folder), "max_findings": 10_000}, progress, scopes
    )
    wall = time.perf_counter() - started
    security = sum(1 for f in result["findings"] if f["kind"] == "security")
    return wall, security


def _tools(folder: Path) -> tuple[float, int]:
    bin_dir = Path(sys.executable).parent
    started = time.perf_counter()
    bandit = subprocess.run(
        [str(bin_dir / "bandit"), "-r", "-q", "-f", "json", str(folder)],
        capture_output=True,
        text=True,
    )
    subprocess.run(
        [str(bin_dir / "radon"), "cc", "-j", str(folder)], capture_output=True, check=True
    )
    wall = time.perf_counter() - started
    return wall, len(json.loads(bandit.stdout)["results"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="runs of each (default 3)")
    args = parser.parse_args()
    print("AMAS code analysis benchmark (bench/analysis.py): code_analysis vs bandit + radon")
    print(
        f"python {sys.version.split()[0]}, nproc {machine.nproc()}, {machine.cpu_model()}; "
        f"bandit {machine.version_of('bandit')}, radon {machine.version_of('radon')}"
    )
    with tempfile.TemporaryDirectory(prefix="amas-bench-analysis-") as temp:
        folder = Path(temp) / "code"
        for name in FOLDERS:
            shutil.copytree(
                ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        files = list(folder.rglob("*.py"))
        lines = sum(len(f.read_text().splitlines()) for f in files)
        print(f"{len(files)} files, {lines:,} lines of Python ({', '.join(FOLDERS)})")
        ours: list[float] = []
        theirs: list[float] = []
        counts: list[tuple[int, int]] = []
        for rep in range(1, args.reps + 1):
            wall, found = asyncio.run(_amas(folder))
            tools_wall, bandit_found = _tools(folder)
            ours.append(wall)
            theirs.append(tools_wall)
            counts.append((found, bandit_found))
            print(
                f"  rep {rep}: amas {wall:.2f} s ({found} security findings); "
                f"bandit + radon {tools_wall:.2f} s ({bandit_found} bandit issues)"
            )
    amas, tools = statistics.median(ours), statistics.median(theirs)
    ratio = amas / tools
    print(f"amas: median {amas:.2f} s ({lines / amas:,.0f} lines/s)")
    print(f"bandit + radon: median {tools:.2f} s ({lines / tools:,.0f} lines/s)")
    print(
        f"ratio amas/tools: {ratio:.2f}  target <= {TARGET_RATIO}  {verdict(ratio <= TARGET_RATIO)}"
    )
    same = all(a == b for a, b in counts)
    print(f"same number of security findings as bandit: {verdict(same)}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
