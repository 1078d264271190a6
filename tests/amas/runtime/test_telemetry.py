"""amas/runtime/telemetry.py and logs.py: tracing on only when the OTEL_* variables ask,
configured by them; log lines as text or JSON with the ids of what they are about."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from amas.runtime import logs
from amas.runtime.telemetry import start_tracing, stop_tracing, wanted
from events import tracing

ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER_ARG": "0.1"}, False),
        (ENDPOINT, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_tracing_is_on_only_when_an_endpoint_a_sampler_or_an_exporter_is_set(
    environ: dict[str, str], on: bool
) -> None:
    assert wanted(environ) is on


def test_off_installs_nothing() -> None:
    assert start_tracing({}) is None
    assert not tracing.enabled()


def _exporter(provider: object) -> object:
    [processor] = provider._active_span_processor._span_processors  # type: ignore[attr-defined]
    assert isinstance(processor, BatchSpanProcessor)
    return processor._batch_processor._exporter  # type: ignore[attr-defined]


def test_an_endpoint_exports_over_otlp_http_and_the_sampler_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environ = {
        **ENDPOINT,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1",
    }
    for name, value in environ.items():  # the SDK reads them from the environment itself
        monkeypatch.setenv(name, value)
    provider = start_tracing(environ)
    try:
        assert provider is not None and tracing.enabled()
        exporter = _exporter(provider)
        assert isinstance(exporter, OTLPSpanExporter)
        assert exporter._endpoint == "http://127.0.0.1:4318/v1/traces"
        assert "TraceIdRatioBased{0.1}" in provider.sampler.get_description()
        assert provider.resource.attributes["service.name"] == "amas"
    finally:
        stop_tracing(provider)
    assert not tracing.enabled()


def test_the_service_name_and_the_console_exporter_can_be_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "amas-eu-1")
    provider = start_tracing({"OTEL_TRACES_EXPORTER": "console"})
    try:
        assert provider is not None
        assert isinstance(_exporter(provider), ConsoleSpanExporter)
        assert provider.resource.attributes["service.name"] == "amas-eu-1"
    finally:
        stop_tracing(provider)


def test_an_unknown_exporter_is_refused() -> None:
    with pytest.raises(ValueError, match="otlp, console or none"):
        start_tracing({"OTEL_TRACES_EXPORTER": "zipkin"})
    assert not tracing.enabled()


@contextlib.contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger as a fresh process has it (no handler), for the length of a `with`."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    root.handlers = []
    try:
        yield root
    finally:
        root.handlers, root.level = saved[0], saved[1]


def test_json_lines_carry_the_request_the_trace_and_the_task() -> None:
    with bare_root() as root:
        logs.configure_logging("debug", "json")
        [handler] = root.handlers
        assert logs.json_logs()
    record = logging.LogRecord("actors.x", logging.INFO, __file__, 1, "did %s", ("it",), None)
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with tracing.continued(traceparent, request_id="req-1", task_id="task-1"):
        line = json.loads(handler.format(record))
    assert line == {
        "ts": line["ts"],
        "level": "INFO",
        "logger": "actors.x",
        "message": "did it",
        "request_id": "req-1",
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "span_id": "b7ad6b7169203331",
        "task_id": "task-1",
    }
    assert line["ts"].endswith("Z") and len(line["ts"]) == 24
    outside = json.loads(handler.format(record))
    assert set(outside) == {"ts", "level", "logger", "message"}


def test_text_stays_the_default_and_an_unknown_format_is_refused() -> None:
    with bare_root() as root:
        logs.configure_logging("warning", None)
        [handler] = root.handlers
        assert handler.formatter is not None and handler.formatter._fmt == logs.TEXT_FORMAT
        assert not logs.json_logs()
    with pytest.raises(ValueError, match="text or json"):
        logs.configure_logging("warning", "xml")
