"""Trace context: which trace the code running now belongs to, how it travels, its spans.

A trace is named by a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`). It travels
in each event's `meta.trace`, in the messages actors pass one another
(`actors.io.Incoming.trace`) and on NATS: in the `traceparent` header when it is sampled,
else in the command itself (its meta, or its `trace` field), which costs far less. Within
a call or a coroutine it is ambient (`here()`), with the request and the task the work is
about, for the logs.

Tracing is off unless the composition root installs a `Recorder` (amas/runtime/telemetry.py,
from the OTEL_* settings); nothing here imports OpenTelemetry. Off, the edge mints a random
traceparent per request (flags 00: not sampled) and it travels all the same, so the
response header, the events and the log lines of one request still name one trace; no
span is made. On, `span()` starts a span through the recorder. Under a parent-based
sampler (the default) a hop whose parent was not sampled starts none: the sampler would
drop it anyway, and so the unsampled majority costs about what "off" costs.

    with tracing.span("decide task.submit", parent=incoming.trace) as span:
        ...                      # here() names the new span; span is None unless recording
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Final, Protocol

import msgspec

from events.envelope import Meta

TRACEPARENT: Final = "traceparent"
"""The W3C header, and the key of the traceparent in `Meta.trace`."""

SERVER, CLIENT, INTERNAL = "server", "client", "internal"
PRODUCER, CONSUMER = "producer", "consumer"
"""Span kinds, as OpenTelemetry names them."""

_W3C = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_NO_TRACE, _NO_SPAN = "0" * 32, "0" * 16


class Span(Protocol):
    """What the code being traced may do with its span (an OpenTelemetry Span is one)."""

    def set_attribute(self, key: str, value: Any) -> None: ...

    def update_name(self, name: str) -> None: ...


class Recorder(Protocol):
    """Makes spans; amas/runtime/telemetry.py has the OpenTelemetry one."""

    parent_based: bool
    """True when the sampler follows the parent's decision (then an unsampled parent's
    hops start no span at all)."""

    def start(
        self,
        name: str,
        parent: str | None,
        parent_span: Span | None,
        kind: str,
        attributes: Mapping[str, Any] | None,
    ) -> tuple[str, Span | None]:
        """Start a span under `parent_span` (ours, recording) or else the remote `parent`
        traceparent (None: a new trace). Its traceparent, and the span if it records."""
        ...

    def end(self, span: Span, error: BaseException | None = None) -> None: ...


class Here:
    """What the running code is part of: a trace (and its span, when one records), and the
    request and the task it is about, as far as they are known."""

    __slots__ = ("request_id", "span", "task_id", "traceparent")

    def __init__(
        self,
        traceparent: str | None,
        span: Span | None = None,
        request_id: str | None = None,
        task_id: str | None = None,
    ) -> None:
        self.traceparent = traceparent
        self.span = span
        self.request_id = request_id
        self.task_id = task_id

    @property
    def trace_id(self) -> str | None:
        return self.traceparent[3:35] if self.traceparent else None

    @property
    def span_id(self) -> str | None:
        return self.traceparent[36:52] if self.traceparent else None


_here: ContextVar[Here | None] = ContextVar("amas_here", default=None)
_recorder: Recorder | None = None


def install(recorder: Recorder | None) -> None:
    """Turn tracing on with `recorder`, or off with None (the composition root's call)."""
    global _recorder
    _recorder = recorder


def enabled() -> bool:
    return _recorder is not None


def here() -> Here | None:
    return _here.get()


def current() -> str | None:
    """The ambient traceparent, if the running code belongs to a trace."""
    found = _here.get()
    return found.traceparent if found is not None else None


def headers() -> dict[str, str] | None:
    """NATS headers that carry the ambient trace on when it is sampled, else None.

    An unsampled trace (every one, with tracing off) travels in the message instead: in
    the command's meta, or its `trace` field. A header costs the node ~50 us per message
    to write and parse (nats-py does it in Python; bench/pipeline.py --tracing measured
    +0.2-0.3 ms of node CPU per task for five of them), a field a fraction of one."""
    found = _here.get()
    if found is None or found.traceparent is None or not sampled(found.traceparent):
        return None
    return {TRACEPARENT: found.traceparent}


def carried(command: Any) -> str | None:
    """The traceparent a command carries in itself: its `trace` field or its meta."""
    trace: str | None = getattr(command, "trace", None)
    if trace is None:
        meta = getattr(command, "meta", None)
        if meta is not None and meta.trace:
            trace = meta.trace.get(TRACEPARENT)
    return trace


def valid(traceparent: str | None) -> str | None:
    """`traceparent` as version 00 if it is a usable W3C traceparent, else None.

    From an outside caller it may be anything: an unknown version is read as 00 (its
    first four fields), as the W3C recommendation asks; all-zero ids and version ff are
    refused."""
    if not traceparent:
        return None
    if len(traceparent) == 55 and traceparent.startswith("00-"):  # ours, and most others
        if _W3C.fullmatch(traceparent) is None:
            return None
        normal = traceparent
    else:
        found = _W3C.fullmatch(traceparent.strip().lower())
        if found is None or found[1] == "ff" or (found[1] == "00" and found[5]):
            return None
        normal = f"00-{found[2]}-{found[3]}-{found[4]}"
    if normal[3:35] == _NO_TRACE or normal[36:52] == _NO_SPAN:
        return None
    return normal


def sampled(traceparent: str) -> bool:
    return bool(int(traceparent[53:55], 16) & 1)


def mint(trace_id: str | None = None) -> str:
    """A new, unsampled traceparent: in trace `trace_id`, or a new random trace."""
    span_id = random.getrandbits(64) or 1
    if trace_id is None:
        return f"00-{random.getrandbits(128) or 1:032x}-{span_id:016x}-00"
    return f"00-{trace_id}-{span_id:016x}-00"


def trace_of(meta: Meta) -> str | None:
    """The traceparent an event or a command carries in its meta, if it is a valid one
    (a command from outside may carry anything there)."""
    return valid(meta.trace.get(TRACEPARENT)) if meta.trace else None


def stamped(meta: Meta) -> Meta:
    """`meta` naming the ambient trace: the events a decision writes carry the span that
    decided them."""
    traceparent = current()
    if traceparent is None or trace_of(meta) == traceparent:
        return meta
    return msgspec.structs.replace(meta, trace={**meta.trace, TRACEPARENT: traceparent})


class _Ambient:
    pass


AMBIENT: Final = _Ambient()
"""`span(parent=AMBIENT)`: under the ambient trace (the default)."""


class span:  # used as a function: `with tracing.span(...)`
    """A scope of the running code: a span when tracing records it, and always `here()`.

    `parent`: the ambient trace (default), a traceparent that came with a message, or
    None for none (a new trace when one is started). `mint`: the edge's scope, which
    always names a trace: off or unsampled, a new span id in the parent's trace, or a
    new trace. Not minting, an untraced scope leaves `here()` without a trace.
    """

    __slots__ = (
        "_attributes", "_kind", "_mint", "_name", "_parent", "_recorder", "_span", "_token", "_who"
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        *,
        parent: str | _Ambient | None = AMBIENT,
        kind: str = INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        task_id: str | None = None,
        mint: bool = False,
    ) -> None:
        self._name = name
        self._parent = parent
        self._kind = kind
        self._attributes = attributes
        self._who = (request_id, task_id)
        self._mint = mint
        self._span: Span | None = None
        self._recorder: Recorder | None = None

    def __enter__(self) -> Span | None:
        outer = _here.get()
        parent_span: Span | None = None
        if isinstance(self._parent, _Ambient):
            parent = outer.traceparent if outer is not None else None
            parent_span = outer.span if outer is not None else None
        else:
            parent = self._parent
        recorder = self._recorder = _recorder
        if recorder is None or (
            parent is not None
            and parent_span is None
            and recorder.parent_based
            and not sampled(parent)
        ):
            traceparent = parent
            if self._mint:
                traceparent = mint(parent[3:35] if parent is not None else None)
        else:
            traceparent, self._span = recorder.start(
                self._name, parent, parent_span, self._kind, self._attributes
            )
        request_id, task_id = self._who
        if task_id is not None and self._span is not None:
            self._span.set_attribute("amas.task_id", task_id)
        if outer is not None:
            request_id = request_id or outer.request_id
            task_id = task_id or outer.task_id
        self._token: Token[Here | None] = _here.set(
            Here(traceparent, self._span, request_id, task_id)
        )
        return self._span

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _here.reset(self._token)
        if self._span is not None and self._recorder is not None:
            self._recorder.end(self._span, error if isinstance(error, Exception) else None)


def about(task_id: str) -> None:
    """The running scope (entered with `span`) turns out to be about task `task_id`."""
    found = _here.get()
    if found is not None:
        _here.set(Here(found.traceparent, found.span, found.request_id, task_id))
        if found.span is not None:
            found.span.set_attribute("amas.task_id", task_id)


def recording() -> bool:
    """Whether the running code is in a span that records (then `child` makes one)."""
    found = _here.get()
    return found is not None and found.span is not None


def child(
    name: str, kind: str = INTERNAL, attributes: Mapping[str, Any] | None = None
) -> Span | None:
    """A span under the ambient one, when that one records; the caller ends it (`finish`),
    e.g. from a future's callback. It does not become ambient."""
    found = _here.get()
    if found is None or found.span is None or _recorder is None:
        return None
    return _recorder.start(name, found.traceparent, found.span, kind, attributes)[1]


def finish(span: Span, error: BaseException | None = None) -> None:
    if _recorder is not None:
        _recorder.end(span, error)


class continued:  # used as a function: `with tracing.continued(...)`
    """A scope in the trace `traceparent` (None: in no trace) with no span of its own: a
    message that came with a trace, handed on with it (to an actor, as `Incoming.trace`)."""

    __slots__ = ("_here", "_token")

    def __init__(
        self, traceparent: str | None, request_id: str | None = None, task_id: str | None = None
    ) -> None:
        self._here = Here(traceparent, None, request_id, task_id)

    def __enter__(self) -> None:
        self._token: Token[Here | None] = _here.set(self._here)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _here.reset(self._token)
