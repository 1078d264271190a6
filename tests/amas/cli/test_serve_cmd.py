"""`amas serve` as a process: it owns its nats-server, and never leaves it behind."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from amas.cli.main import main
from amas.runtime.nats_server import free_port, process_alive
from tests.conftest import ADMIN_KEY
from tests.served import WAIT, Served, clean_env, run_cli, serve_process, wait_until


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


def test_nats_server_and_worker_die_with_a_killed_amas_serve(tmp_path):
    with serve_process(tmp_path, clean_env(AMAS_API_KEY=ADMIN_KEY)) as served:
        pid = served.nats_server_pid()
        verified = httpx.get(
            f"{served.base}/events/verify", headers={"X-API-Key": ADMIN_KEY}, timeout=WAIT
        )
        assert verified.status_code == 200, verified.text  # the worker process walked it
        children = [child.pid for child in psutil.Process(served.process.pid).children()]
        assert pid in children and len(children) >= 2, children  # + the worker (and its tracker)

        served.process.kill()
        served.process.wait(timeout=WAIT)

        for child in children:
            wait_until(
                lambda child=child: not process_alive(child),
                f"child {child} of amas serve exits after SIGKILL of amas",
                timeout=5.0,
            )


def test_serve_ends_an_open_event_stream_on_sigterm_rather_than_wait_for_it(tmp_path):
    with (
        serve_process(tmp_path, clean_env(AMAS_API_KEY=ADMIN_KEY)) as served,
        httpx.stream(
            "GET", f"{served.base}/events/stream", headers={"X-API-Key": ADMIN_KEY}, timeout=WAIT
        ) as response,
    ):
        lines = response.iter_lines()
        assert next(lines).startswith("retry: ")
        served.process.send_signal(signal.SIGTERM)
        start = time.monotonic()
        rest = list(lines)  # ends when the server closes the stream
        code = served.process.wait(timeout=WAIT)
        took = time.monotonic() - start

    assert code == 0, served.output()
    assert rest[0] == "event: ready" and rest[1].startswith("data: ")
    assert took < WAIT / 2, f"{took:.1f} s to stop with a stream open"


@pytest.mark.parametrize(
    ("taken", "says"),
    [
        ("--port", "amas serve: could not listen on 127.0.0.1:{port}"),
        ("--nats-port", "amas serve: port {port} on 127.0.0.1 is in use"),
    ],
)
def test_a_taken_port_is_named_and_serve_exits_1(tmp_path, taken, says):
    ports = {"--port": free_port(), "--nats-port": free_port()}
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        ports[taken] = squatter.getsockname()[1]

        done = run_cli("serve", "--data-dir", str(tmp_path / "data"), *_flags(ports))

    assert done.returncode == 1, done.stderr
    assert says.format(port=ports[taken]) in done.stderr
    assert "Traceback" not in done.stderr


def _flags(ports: dict[str, int]) -> list[str]:
    return [part for flag, port in ports.items() for part in (flag, str(port))]


@pytest.mark.parametrize("flag", ["--port", "--nats-port"])
@pytest.mark.parametrize("value", ["0", "65536", "http"])
def test_a_port_that_is_no_port_is_refused_by_the_parser(capsys, flag, value):
    with pytest.raises(SystemExit) as exited:
        main(["serve", flag, value])

    assert exited.value.code == 2
    assert f"argument {flag}:" in capsys.readouterr().err
