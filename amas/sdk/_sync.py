"""The blocking engine under `Client`: sends calls (with retries) and drives flows."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any, TypeVar

import httpx

from amas.sdk._base_client import ClientOptions
from amas.sdk._call import Call, Emit, Flow, FlowCursor, Next, Open, Operation, Sleep, Step, Stream
from amas.sdk._nats import follow_in_thread
from amas.sdk._paging import Paged, Pager
from amas.sdk._sources import NatsSpec, SseSource, SseSpec
from amas.sdk.errors import AMASError, status_error

T = TypeVar("T")


class SyncRunner:
    def __init__(self, options: ClientOptions, http_client: httpx.Client | None) -> None:
        self._connect(options, http_client)

    def _connect(self, options: ClientOptions, http_client: httpx.Client | None) -> None:
        self._options = options
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client()

    @property
    def nats_url(self) -> str | None:
        return self._options.nats_url

    def request(self, call: Call[T]) -> T:
        request = self._options.build_request(self._http, call)
        attempt = 0
        while True:
            try:
                response = self._http.send(request)
            except httpx.TransportError as e:
                delay = self._options.retry_delay(call, attempt, error=e)
                if delay is None:
                    raise self._options.connection_error(e) from e
            else:
                delay = self._options.retry_delay(call, attempt, response=response)
                if delay is None:
                    return self._options.outcome(call, response)
                response.close()
            time.sleep(delay)
            attempt += 1

    def paginate(self, operation: Operation, paged: Paged[T]) -> Pager[T]:
        return Pager(self, operation, paged)

    def run(self, flow: Flow[T]) -> T:
        cursor = FlowCursor(flow)
        for _ in self._steps(cursor):
            pass
        return cursor.value

    def stream(self, flow: Stream[T]) -> Iterator[T]:
        return self._steps(FlowCursor(flow))

    def _steps(self, cursor: FlowCursor[Any]) -> Iterator[Any]:
        with contextlib.ExitStack() as opened, contextlib.closing(cursor):
            while (step := cursor.next_step()) is not None:
                if isinstance(step, Emit):
                    yield step.item
                    continue
                try:
                    cursor.answer(self._step(step, opened))
                except AMASError as e:
                    cursor.fail(e)

    def _step(self, step: Step, opened: contextlib.ExitStack) -> Any:
        if isinstance(step, Call):
            return self.request(step)
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        if isinstance(step, Next):
            return step.handle.next(step.timeout)
        return opened.enter_context(self._open(step))

    def _open(self, step: Open) -> contextlib.AbstractContextManager[Any]:
        if isinstance(step.spec, NatsSpec):
            return follow_in_thread(step.spec)
        assert isinstance(step.spec, SseSpec)
        return self._sse(step.spec.call)

    @contextlib.contextmanager
    def _sse(self, call: Call[Any]) -> Iterator[SseSource]:
        request = self._options.build_request(self._http, call)
        request.headers["Accept"] = "text/event-stream"
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as e:
            raise self._options.connection_error(e) from e
        try:
            if not response.is_success:
                response.read()
                raise status_error(response)
            yield SseSource(response.iter_lines())
        finally:
            response.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()
