"""`amas serve` as a real process, for tests that need signals, its output or its CLI.

with serve_process(tmp_path) as node:     # waits for /health
    node.base, node.data_dir, node.output(), node.process, node.cli("api-key", "list")
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import httpx

from amas.runtime.nats_server import free_port, servers_using
from tests.conftest import CLIENT_TLS

WAIT = 20.0


def wait_until(check: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.05)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any AMAS_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMAS_")}
    env.update(extra)
    return env


class Served:
    def __init__(
        self,
        process: subprocess.Popen[bytes],
        data_dir: Path,
        log: Path,
        port: int,
        env: Mapping[str, str],
        cwd: Path,
    ) -> None:
        self.process = process
        self.data_dir = data_dir
        self.log = log
        self.env = env
        self.cwd = cwd
        self.base = f"http://127.0.0.1:{port}/api/v1"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(
                f"amas serve exited with {self.process.returncode}:\n{self.output()}"
            )
        try:
            health = httpx.get(f"{self.base}/health", timeout=2, verify=CLIENT_TLS)
            return health.status_code == 200
        except httpx.TransportError:
            return False

    def nats_server_pid(self) -> int:
        [pid] = servers_using(self.data_dir)
        return pid

    def cli(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `amas ARGS --data-dir <this node's>` as another process."""
        return run_cli(*args, "--data-dir", str(self.data_dir), env=env or self.env, cwd=self.cwd)


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amas.cli.main", *args],
        env=env or clean_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def serve_process(
    tmp_path: Path, env: Mapping[str, str] | None = None, args: tuple[str, ...] = ()
) -> Iterator[Served]:
    """`amas serve` on free loopback ports with its data in tmp_path/data; killed after."""
    data_dir = (tmp_path / "data").resolve()
    log = tmp_path / "amas.log"
    port = free_port()
    env = env if env is not None else clean_env()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "amas.cli.main",
                *args,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--nats-port",
                str(free_port()),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=tmp_path,
        )
    node = Served(process, data_dir, log, port, env, tmp_path)
    try:
        wait_until(node.healthy, "amas serve answers /health")
        yield node
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        for pid in servers_using(data_dir):  # never leave one behind, even on failure
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
