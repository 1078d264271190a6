"""`bench/chaos.py --quick`: the node is SIGKILLed twice and its nats-server once while
tasks come in over HTTP; no acknowledged task, no event and no link of the hash chain
may be lost. Correctness only: the run's timings are never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.served import clean_env

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 300.0
"""An upper bound for a run that takes well under a minute; never a measure of speed."""


def test_quick_chaos_run_loses_nothing(tmp_path: Path) -> None:
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "chaos.py"), "--quick", "--dir", str(tmp_path)],
            cwd=ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else e.stdout
        raise AssertionError(
            f"bench/chaos.py --quick still running after {TIMEOUT:g} s:\n{out}"
        ) from None
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert done.stdout.splitlines()[-3:] == ["acknowledged == found", "0 broken", "0 missed"], (
        output
    )
