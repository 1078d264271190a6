"""Spans recorded in memory: tracing on for the length of a `with`, as `amas serve` turns
it on, but exporting to the SDK's InMemorySpanExporter at once (SimpleSpanProcessor)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from amas.runtime.telemetry import OtelRecorder, tracer_provider
from events import tracing


@contextlib.contextmanager
def recording(sampler: Any = None) -> Iterator[InMemorySpanExporter]:
    """Tracing on (the sampler given, else parentbased_always_on) into an exporter."""
    exporter = InMemorySpanExporter()
    provider = tracer_provider({}, SimpleSpanProcessor(exporter), sampler)
    tracing.install(OtelRecorder(provider))
    try:
        yield exporter
    finally:
        tracing.install(None)
        provider.shutdown()


def in_trace(exporter: InMemorySpanExporter, traceparent: str) -> list[ReadableSpan]:
    """The finished spans of the trace `traceparent` names."""
    trace_id = int(traceparent[3:35], 16)
    return [
        s for s in exporter.get_finished_spans() if s.context and s.context.trace_id == trace_id
    ]


def span_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.span_id:016x}"


def parent_id(span: ReadableSpan) -> str | None:
    return f"{span.parent.span_id:016x}" if span.parent is not None else None
