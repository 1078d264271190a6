"""Traces: OpenTelemetry's SDK, set up from the standard OTEL_* variables, behind the
recorder that events/tracing.py makes its spans with.

Tracing is on when any of OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
OTEL_TRACES_SAMPLER or OTEL_TRACES_EXPORTER (other than `none`) is set, and
OTEL_SDK_DISABLED is not `true`. Otherwise it is off and the SDK is not even imported.
The SDK reads the rest itself: the sampler (OTEL_TRACES_SAMPLER, _ARG; default
parentbased_always_on), the OTLP endpoint, headers and timeout (OTEL_EXPORTER_OTLP_*),
the batching (OTEL_BSP_*), the service name and resource (OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES; the name defaults to `amas`).

Export is OTLP over HTTP with protobuf bodies (opentelemetry-exporter-otlp-proto-http:
every collector, Jaeger and Tempo take it on port 4318), or `console` for a look.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from amas import __version__
from events import tracing

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.trace import Span

log = logging.getLogger(__name__)

_SWITCHES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_TRACES_SAMPLER",
)
EXPORTERS = ("otlp", "console", "none")


def wanted(environ: Mapping[str, str]) -> bool:
    """Whether the OTEL_* variables ask for traces."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    return any(environ.get(name, "").strip() for name in _SWITCHES) or exporter not in ("", "none")


def start_tracing(environ: Mapping[str, str]) -> TracerProvider | None:
    """Turn tracing on as the OTEL_* variables say; the provider to stop, or None (off)."""
    if not wanted(environ):
        return None
    provider = tracer_provider(environ, _exporter_processor(environ))
    tracing.install(OtelRecorder(provider))
    return provider


def stop_tracing(provider: TracerProvider | None) -> None:
    """Turn tracing off; the spans still queued are exported first (bounded by the SDK's
    OTEL_BSP_EXPORT_TIMEOUT)."""
    tracing.install(None)
    if provider is not None:
        provider.shutdown()


def tracer_provider(
    environ: Mapping[str, str], processor: SpanProcessor | None, sampler: Any = None
) -> TracerProvider:
    """A provider named `amas` unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name
    it, sampling as OTEL_TRACES_SAMPLER says unless `sampler` is given."""
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create({SERVICE_VERSION: __version__})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "amas"}))
    provider = TracerProvider(sampler=sampler, resource=resource, shutdown_on_exit=False)
    if processor is not None:
        provider.add_span_processor(processor)
    return provider


def _exporter_processor(environ: Mapping[str, str]) -> SpanProcessor | None:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    name = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() or "otlp"
    if name == "none":
        return None
    if name == "console":
        return BatchSpanProcessor(ConsoleSpanExporter())
    if name != "otlp":
        raise ValueError(f"OTEL_TRACES_EXPORTER={name!r}: amas exports otlp, console or none")
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    if protocol.strip() != "http/protobuf":
        log.warning("OTLP protocol %r is not available: exporting with http/protobuf", protocol)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return BatchSpanProcessor(OTLPSpanExporter())


class OtelRecorder:
    """events.tracing.Recorder on an SDK TracerProvider.

    Parents are passed explicitly (never through OpenTelemetry's own ambient context):
    the trace travels in events.tracing's one context variable, and a span is started
    only where that module decides one is due."""

    def __init__(self, provider: TracerProvider) -> None:
        from opentelemetry import context, trace
        from opentelemetry.sdk.trace.sampling import ParentBased
        from opentelemetry.trace import SpanKind

        self.provider = provider
        self.tracer = provider.get_tracer("amas", __version__)
        self.parent_based = isinstance(provider.sampler, ParentBased)
        self._root = context.Context()
        self._in = trace.set_span_in_context
        self._remote = trace.NonRecordingSpan
        self._context = trace.SpanContext
        self._flags = trace.TraceFlags
        self._error = trace.Status(trace.StatusCode.ERROR)
        self._kinds = {
            tracing.SERVER: SpanKind.SERVER,
            tracing.CLIENT: SpanKind.CLIENT,
            tracing.INTERNAL: SpanKind.INTERNAL,
            tracing.PRODUCER: SpanKind.PRODUCER,
            tracing.CONSUMER: SpanKind.CONSUMER,
        }

    def start(
        self,
        name: str,
        parent: str | None,
        parent_span: tracing.Span | None,
        kind: str,
        attributes: Mapping[str, Any] | None,
    ) -> tuple[str, tracing.Span | None]:
        if parent_span is not None:
            under = self._in(parent_span, self._root)  # type: ignore[arg-type]
        elif parent is not None:
            remote = self._context(
                int(parent[3:35], 16),
                int(parent[36:52], 16),
                is_remote=True,
                trace_flags=self._flags(int(parent[53:55], 16)),
            )
            under = self._in(self._remote(remote), self._root)
        else:
            under = self._root
        span: Span = self.tracer.start_span(name, under, self._kinds[kind], attributes)
        made = span.get_span_context()
        traceparent = f"00-{made.trace_id:032x}-{made.span_id:016x}-{made.trace_flags:02x}"
        return traceparent, span if span.is_recording() else None

    def end(self, span: tracing.Span, error: BaseException | None = None) -> None:
        otel_span: Span = span  # type: ignore[assignment]
        if error is not None:
            otel_span.record_exception(error)
            otel_span.set_status(self._error)
        otel_span.end()
