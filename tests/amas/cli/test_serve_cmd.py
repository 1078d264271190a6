"""`amas serve` as a process: it owns its nats-server, and never leaves it behind."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from amas.runtime.nats_server import process_alive
from tests.served import WAIT, Served, serve_process, wait_until


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serve_process(tmp_path) as node:
        yield node


def test_serve_stops_its_nats_server_and_exits_cleanly_on_sigterm(served):
    pid = served.nats_server_pid()
    assert process_alive(pid)
    assert (served.data_dir / "node.pid").read_text() == str(served.process.pid)
    wait_until(lambda: "ready" in served.output(), "amas serve says it is ready")

    served.process.send_signal(signal.SIGTERM)

    try:
        code = served.process.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"amas serve still running {WAIT:g} s after SIGTERM") from None
    assert code == 0, served.output()
    assert not process_alive(pid), f"nats-server {pid} outlived amas serve"
    assert not (served.data_dir / "node.pid").exists()


def test_nats_server_dies_with_a_killed_amas_serve(served):
    pid = served.nats_server_pid()

    served.process.kill()
    served.process.wait(timeout=WAIT)

    wait_until(
        lambda: not process_alive(pid),
        f"nats-server {pid} exits after SIGKILL of amas",
        timeout=5.0,
    )
