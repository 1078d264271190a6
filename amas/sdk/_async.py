"""The asyncio engine under `AsyncClient`: the same calls and flows as `_sync.py`,
awaited."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import httpx

from amas.sdk._base_client import ClientOptions
from amas.sdk._call import Call, Emit, Flow, FlowCursor, Next, Open, Operation, Sleep, Step, Stream
from amas.sdk._nats import follow
from amas.sdk._paging import AsyncPager, Paged
from amas.sdk._sources import AsyncSseSource, NatsSpec, SseSpec
from amas.sdk.errors import AMASError, status_error

T = TypeVar("T")


class AsyncRunner:
    def __init__(self, options: ClientOptions, http_client: httpx.AsyncClient | None) -> None:
        self._connect(options, http_client)

    def _connect(self, options: ClientOptions, http_client: httpx.AsyncClient | None) -> None:
        self._options = options
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient()

    @property
    def nats_url(self) -> str | None:
        return self._options.nats_url

    async def request(self, call: Call[T]) -> T:
        request = self._options.build_request(self._http, call)
        attempt = 0
        while True:
            try:
                response = await self._http.send(request)
            except httpx.TransportError as e:
                delay = self._options.retry_delay(call, attempt, error=e)
                if delay is None:
                    raise self._options.connection_error(e) from e
            else:
                delay = self._options.retry_delay(call, attempt, response=response)
                if delay is None:
                    return self._options.outcome(call, response)
                await response.aclose()
            await asyncio.sleep(delay)
            attempt += 1

    def paginate(self, operation: Operation, paged: Paged[T]) -> AsyncPager[T]:
        return AsyncPager(self, operation, paged)

    async def run(self, flow: Flow[T]) -> T:
        cursor = FlowCursor(flow)
        async for _ in self._steps(cursor):
            pass
        return cursor.value

    def stream(self, flow: Stream[T]) -> AsyncIterator[T]:
        return self._steps(FlowCursor(flow))

    async def _steps(self, cursor: FlowCursor[Any]) -> AsyncIterator[Any]:
        async with contextlib.AsyncExitStack() as opened:
            try:
                while (step := cursor.next_step()) is not None:
                    if isinstance(step, Emit):
                        yield step.item
                        continue
                    try:
                        cursor.answer(await self._step(step, opened))
                    except AMASError as e:
                        cursor.fail(e)
            finally:
                cursor.close()

    async def _step(self, step: Step, opened: contextlib.AsyncExitStack) -> Any:
        if isinstance(step, Call):
            return await self.request(step)
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            return None
        if isinstance(step, Next):
            return await step.handle.next(step.timeout)
        return await opened.enter_async_context(self._open(step))

    def _open(self, step: Open) -> contextlib.AbstractAsyncContextManager[Any]:
        if isinstance(step.spec, NatsSpec):
            return follow(step.spec)
        assert isinstance(step.spec, SseSpec)
        return self._sse(step.spec.call)

    @contextlib.asynccontextmanager
    async def _sse(self, call: Call[Any]) -> AsyncIterator[AsyncSseSource]:
        request = self._options.build_request(self._http, call)
        request.headers["Accept"] = "text/event-stream"
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TransportError as e:
            raise self._options.connection_error(e) from e
        try:
            if not response.is_success:
                await response.aread()
                raise status_error(response)
            yield AsyncSseSource(response.aiter_lines())
        finally:
            await response.aclose()

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()
