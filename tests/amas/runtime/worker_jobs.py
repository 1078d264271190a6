"""Jobs for tests/amas/runtime/test_worker.py's worker process: a module of their own
that imports nothing heavy, so the spawned process starts quickly."""

from __future__ import annotations

import os
import signal


def pid_of_the_worker() -> int:
    return os.getpid()


def kill_the_worker() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
