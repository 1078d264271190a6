"""Helpers for the SDK's tests: clients of a served node, keys, and a scripted proxy.

The blocking Client runs in a worker thread (`in_thread`): the node and its HTTP server
run on the test's event loop, which must stay free to answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from amas.sdk import AsyncClient, Client
from tests.conftest import ADMIN_KEY, CLIENT_TLS

T = TypeVar("T")


def root_of(api: httpx.AsyncClient) -> str:
    """The node's root URL, from a test client of its /api/v1."""
    return str(api.base_url).rstrip("/").removesuffix("/api/v1")


def _hooks(sent: list[httpx.Request] | None) -> dict[str, list[Any]]:
    return {"request": [sent.append]} if sent is not None else {}


@contextlib.contextmanager
def client(
    at: httpx.AsyncClient | str,
    key: str | None = ADMIN_KEY,
    sent: list[httpx.Request] | None = None,
    **options: Any,
) -> Iterator[Client]:
    """A Client of the node behind the test client `at` (or of the URL `at`), with the
    tests' TLS context; each request it makes (retries too) is appended to `sent`."""
    url = at if isinstance(at, str) else root_of(at)
    with (
        httpx.Client(verify=CLIENT_TLS, event_hooks=_hooks(sent)) as http,
        Client(url, api_key=key, http_client=http, **options) as made,
    ):
        yield made


@contextlib.asynccontextmanager
async def async_client(
    at: httpx.AsyncClient | str,
    key: str | None = ADMIN_KEY,
    sent: list[httpx.Request] | None = None,
    **options: Any,
) -> AsyncIterator[AsyncClient]:
    url = at if isinstance(at, str) else root_of(at)

    async def record(request: httpx.Request) -> None:
        if sent is not None:
            sent.append(request)

    async with (
        httpx.AsyncClient(verify=CLIENT_TLS, event_hooks={"request": [record]}) as http,
        AsyncClient(url, api_key=key, http_client=http, **options) as made,
    ):
        yield made


async def in_thread(work: Callable[[], T]) -> T:
    """Run blocking SDK code off the loop that serves the node."""
    return await asyncio.to_thread(work)


async def created_tasks(api: httpx.AsyncClient, marker: str) -> list[dict[str, Any]]:
    """Every task.created in the log whose parameters carry `marker`: what the node made."""
    found: list[dict[str, Any]] = []
    position = 1
    while True:
        page = (
            await api.get("/events", params={"type": "task.created", "from_position": position})
        ).json()
        found += [e for e in page["events"] if e["data"]["parameters"].get("marker") == marker]
        if not page["has_more"]:
            return found
        position = page["next_position"]


@dataclass(frozen=True)
class Refuse:
    """Answer this request ourselves, without passing it on."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    code: str = "SERVICE_UNAVAILABLE"


FORWARD = "forward"
DROP = "drop"
"""Hang up without passing the request on."""
DROP_AFTER_FORWARD = "drop after forward"
"""Pass the request on, then hang up instead of answering: the client never learns."""


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class Proxy:
    """An HTTP/1.1 proxy on 127.0.0.1 in front of a node: each request takes the next
    scripted behaviour (then FORWARD), and is recorded in `requests`."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.script: list[Refuse | str] = []
        self.requests: list[Seen] = []
        self.url = ""

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Proxy]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        try:
            yield self
        finally:
            server.close()
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with httpx.AsyncClient(base_url=self.upstream, verify=CLIENT_TLS) as upstream:
                while await self._one(reader, writer, upstream):
                    pass
        finally:
            writer.close()

    async def _one(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream: httpx.AsyncClient,
    ) -> bool:
        line = await reader.readline()
        if not line:
            return False
        method, target, _ = line.decode().split(" ", 2)
        headers: dict[str, str] = {}
        while (raw := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = raw.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        self.requests.append(Seen(method, target, headers))
        behaviour = self.script.pop(0) if self.script else FORWARD
        if behaviour == DROP:
            return False
        if isinstance(behaviour, Refuse):
            envelope = (
                f'{{"error":{{"code":"{behaviour.code}","message":"scripted by the test",'
                f'"details":{{}},"request_id":"req-proxy","timestamp":"2026-01-01T00:00:00Z"}}}}'
            )
            await _answer(writer, behaviour.status, behaviour.headers, envelope.encode())
            return True
        passed = {k: v for k, v in headers.items() if k not in _HOP_BY_HOP}
        answer = await upstream.request(method, target, headers=passed, content=body)
        if behaviour == DROP_AFTER_FORWARD:
            return False
        kept = {k: v for k, v in answer.headers.items() if k not in _HOP_BY_HOP}
        await _answer(writer, answer.status_code, kept, answer.content)
        return True


_HOP_BY_HOP = frozenset({"host", "connection", "content-length", "transfer-encoding", "keep-alive"})


async def _answer(
    writer: asyncio.StreamWriter, status: int, headers: dict[str, str], body: bytes
) -> None:
    lines = [f"HTTP/1.1 {status} X", f"content-length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if "content-type" not in headers:
        lines.append("content-type: application/json")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
