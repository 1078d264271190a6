"""Benchmark of the security agent's TCP connect scan against nmap, in one run.

`python bench/scan.py` (from the repo root, in the project's virtualenv) opens 20
listeners on 127.0.0.1 (random free ports), then alternates, `--reps` times each:

* **amas**: the `vulnerability_scanning` skill itself (the code an agent runs), in this
  process, on ports 1-65535 of 127.0.0.1, banners off;
* **nmap**: `nmap -n -Pn -sT -T4 -p- 127.0.0.1`, the same connect scan, as a subprocess.

It prints each run's wall time and open ports, the medians and their ratio (target:
amas <= 1.2x nmap), and checks that every listener was found and no port was reported
open that nmap does not also see or that is not one of ours (a false open). Install
nmap with `apt-get install nmap`; without it the bench says so and times amas alone.
Loopback only: the scan never leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/scan.py` puts bench/, not the root, first
    sys.path.insert(0, str(ROOT))

from actors.agents.scope import CodeScope, NetworkScope, Scopes  # noqa: E402
from actors.agents.skills import SKILLS  # noqa: E402
from bench import machine  # noqa: E402
from bench.figures import verdict  # noqa: E402

TARGET_RATIO = 1.2
LISTENERS = 20


async def _amas_scan(in_flight: int) -> tuple[float, set[int]]:
    scopes = Scopes(NetworkScope.parse("127.0.0.1/32"), CodeScope.parse(None, Path.cwd()))

    async def progress(percent: int, message: str) -> None:
        return None

    started = time.perf_counter()
    result = await SKILLS["vulnerability_scanning"](
        {
            "target": "127.0.0.1",
            "scan_type": "comprehensive",
            "depth": "basic",
            "in_flight": in_flight,
        },
        progress,
        scopes,
    )
    return time.perf_counter() - started, {p["port"] for p in result["open_ports"]}


def _nmap_scan(nmap: str) -> tuple[float, set[int]]:
    started = time.perf_counter()
    out = subprocess.run(
        [nmap, "-n", "-Pn", "-sT", "-T4", "-p-", "-oG", "-", "127.0.0.1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wall = time.perf_counter() - started
    ports: set[int] = set()
    for line in out.splitlines():
        if "Ports:" in line:
            for entry in line.split("Ports:", 1)[1].split("\t")[0].split(","):
                fields = entry.strip().split("/")
                if len(fields) > 1 and fields[1] == "open":
                    ports.add(int(fields[0]))
    return wall, ports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--in-flight", type=int, default=1000, help="amas connects at once")
    args = parser.parse_args()

    nmap = shutil.which("nmap")
    print("AMAS scan benchmark (bench/scan.py): TCP connect scan of 127.0.0.1, ports 1-65535")
    print(
        f"python {sys.version.split()[0]}, nproc {machine.nproc()}, {machine.cpu_model()}; "
        + (
            subprocess.run([nmap, "--version"], capture_output=True, text=True).stdout.split("\n")[
                0
            ]
            if nmap
            else "nmap: not installed (apt-get install nmap): amas is timed alone"
        )
    )
    listeners = []
    for _ in range(LISTENERS):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        listeners.append(sock)
    ours = {sock.getsockname()[1] for sock in listeners}
    print(f"{LISTENERS} listeners on 127.0.0.1: {', '.join(map(str, sorted(ours)))}")
    amas_walls: list[float] = []
    nmap_walls: list[float] = []
    failures: list[str] = []
    try:
        for rep in range(1, args.reps + 1):
            wall, found = asyncio.run(_amas_scan(args.in_flight))
            amas_walls.append(wall)
            nmap_found: set[int] | None = None
            if nmap:
                nmap_wall, nmap_found = _nmap_scan(nmap)
                nmap_walls.append(nmap_wall)
            missed = ours - found
            extra = found - ours - (nmap_found or set())
            print(
                f"  rep {rep}: amas {wall:.2f} s, {len(found)} open"
                + (f"; nmap {nmap_walls[-1]:.2f} s, {len(nmap_found or ())} open" if nmap else "")
                + (f"; MISSED {sorted(missed)}" if missed else "")
                + (f"; FALSE OPEN {sorted(extra)}" if extra else "")
            )
            if missed:
                failures.append(f"rep {rep} missed {sorted(missed)}")
            if extra:
                failures.append(f"rep {rep} reported {sorted(extra)} open")
    finally:
        for sock in listeners:
            sock.close()
    amas = statistics.median(amas_walls)
    print(f"amas: median {amas:.2f} s ({65535 / amas:,.0f} ports/s)")
    if nmap_walls:
        reference = statistics.median(nmap_walls)
        ratio = amas / reference
        print(f"nmap: median {reference:.2f} s ({65535 / reference:,.0f} ports/s)")
        print(
            f"ratio amas/nmap: {ratio:.2f}  target <= {TARGET_RATIO}  "
            f"{verdict(ratio <= TARGET_RATIO)}"
        )
    found_all = not failures
    print(
        f"all {LISTENERS} listeners found, 0 false opens: {verdict(found_all)}"
        + ("" if found_all else f" ({'; '.join(failures)})")
    )
    return 0 if found_all else 1


if __name__ == "__main__":
    sys.exit(main())
