"""A minimal OTLP/HTTP trace receiver on 127.0.0.1 for benchmarks: it takes the POSTs an
OpenTelemetry exporter makes to `/v1/traces` (protobuf bodies, `Content-Length`,
keep-alive), counts the spans in them, and answers 200 with an empty
ExportTraceServiceResponse. Nothing is kept but counts: it stands in for a collector so
that a node's exporter does all its real work (encode, POST, wait for the answer).

    async with Collector() as collector:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.endpoint
        ...
        collector.spans, collector.requests, collector.trace_ids
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
_BAD = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class Collector:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.spans = 0
        self.requests = 0
        self.refused = 0
        self.trace_ids: set[bytes] = set()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def endpoint(self) -> str:
        """The value for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter adds /v1/traces)."""
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def settled(self, quiet: float = 1.0, timeout: float = 15.0) -> int:
        """The span count once no span has arrived for `quiet` seconds (or at `timeout`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen, since = self.spans, loop.time()
        while loop.time() < deadline and loop.time() - since < quiet:
            await asyncio.sleep(0.1)
            if self.spans != seen:
                seen, since = self.spans, loop.time()
        return self.spans

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                if not head.startswith(b"POST /v1/traces ") or not self._count(body):
                    self.refused += 1
                    writer.write(_BAD)
                    await writer.drain()
                    return
                writer.write(_OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:  # the collector stops: the connection ends here
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _count(self, body: bytes) -> bool:
        export = ExportTraceServiceRequest()
        try:
            export.ParseFromString(body)
        except Exception:
            return False
        self.requests += 1
        for resource in export.resource_spans:
            for scope in resource.scope_spans:
                self.spans += len(scope.spans)
                self.trace_ids.update(span.trace_id for span in scope.spans)
        return True
