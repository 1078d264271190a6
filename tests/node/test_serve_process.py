"""`amas serve` as a process: it owns its nats-server, and never leaves it behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from amas.nats_server import free_port

WAIT = 20.0


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent (or init) to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def _nats_servers_for(data_dir: Path) -> list[int]:
    """Pids of nats-server processes whose command line names `data_dir`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"nats-server") and any(
            str(data_dir).encode() in arg for arg in argv
        ):
            found.append(int(entry.name))
    return found


def _wait_until(check, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.05)


class Served:
    def __init__(self, process: subprocess.Popen[bytes], data_dir: Path, log: Path,
                 port: int) -> None:
        self.process = process
        self.data_dir = data_dir
        self.log = log
        self.base = f"http://127.0.0.1:{port}/api/v1"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"amas serve exited with {self.process.returncode}:\n"
                                 f"{self.output()}")
        try:
            return httpx.get(f"{self.base}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def nats_server_pid(self) -> int:
        [pid] = _nats_servers_for(self.data_dir)
        return pid


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    data_dir = (tmp_path / "data").resolve()
    log = tmp_path / "amas.log"
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "amas.cli.main", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--data-dir", str(data_dir),
             "--nats-port", str(free_port())],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    node = Served(process, data_dir, log, port)
    try:
        _wait_until(node.healthy, "amas serve answers /health")
        yield node
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        for pid in _nats_servers_for(data_dir):  # never leave one behind, even on failure
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_serve_stops_its_nats_server_and_exits_cleanly_on_sigterm(served):
    pid = served.nats_server_pid()
    assert _alive(pid)
    assert (served.data_dir / "node.pid").read_text() == str(served.process.pid)
    _wait_until(lambda: "ready" in served.output(), "amas serve says it is ready")

    served.process.send_signal(signal.SIGTERM)

    try:
        code = served.process.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"amas serve still running {WAIT:g} s after SIGTERM") from None
    assert code == 0, served.output()
    assert not _alive(pid), f"nats-server {pid} outlived amas serve"
    assert not (served.data_dir / "node.pid").exists()


def test_nats_server_dies_with_a_killed_amas_serve(served):
    pid = served.nats_server_pid()

    served.process.kill()
    served.process.wait(timeout=WAIT)

    _wait_until(lambda: not _alive(pid), f"nats-server {pid} exits after SIGKILL of amas",
                timeout=5.0)
