"""`amas serve` as a subprocess of a benchmark: start it, read its log, stop it.

* `spawn_serve(...)`: `amas serve` on loopback with its embedded nats-server, its output
  into an open log file; it gets SIGTERM if the benchmark dies first, and Ctrl-C in the
  terminal reaches only the benchmark (which then stops it).
* `stop(process)`: SIGTERM, then SIGKILL after `timeout`; says how it ended.
* `log_tail(log)`, `noisy_lines(lines)`: the end of a node's log, its warning/error lines.
* `no_sniffio_retries()`: keeps httpx clients in the load generator cheap.
* `BenchAborted`: a node could not be started or died.

Each benchmark keeps its own node class: what it needs of the node differs.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

from amas.runtime.lifetime import end_with_parent

NOISY_WORDS = ("WARNING", "ERROR", "CRITICAL", "Traceback")


class BenchAborted(RuntimeError):
    """A node could not be started or died: there is nothing meaningful to print."""


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM the node if the benchmark dies first."""
    end_with_parent(signal.SIGTERM)
    os.setpgrp()  # Ctrl-C here reaches only the benchmark; it then stops the node


def spawn_serve(
    *,
    port: int,
    nats_port: int,
    data_dir: Path,
    log: IO[bytes],
    cwd: Path,
    env: Mapping[str, str],
) -> subprocess.Popen[bytes]:
    """`amas serve` on 127.0.0.1:`port` (NATS on `nats_port`), stdout and stderr to `log`."""
    return subprocess.Popen(
        [sys.executable, "-m", "amas.cli.main", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--data-dir", str(data_dir), "--nats-port", str(nats_port)],
        cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
    )  # fmt: skip


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> str:
    """SIGTERM a running node and wait; SIGKILL it if it is still there after `timeout`."""
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        code = process.wait()
        return f"did not stop within {timeout:g} s of SIGTERM: killed ({code})"
    return f"stopped with code {code}"


def log_tail(log: Path, lines: int = 30, prefix: str = "  | ") -> str:
    """The last `lines` lines of a node's log, each behind `prefix`."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(f"{prefix}{line}" for line in text[-lines:]) or "(empty log)"


def noisy_lines(lines: Iterable[str], words: Iterable[str] = NOISY_WORDS) -> list[str]:
    """The lines of a log that hold any of `words`."""
    words = tuple(words)
    return [line for line in lines if any(word in line for word in words)]


def no_sniffio_retries() -> None:
    """httpcore 1.0 tries `import sniffio` on every request; without sniffio installed
    (anyio 4 no longer needs it) each failed import searches sys.path again, which cost a
    load generator ~2 s of CPU per 5,000 requests. A None entry makes the import fail at
    once."""
    if importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]
