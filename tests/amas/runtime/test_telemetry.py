"""amas/runtime/telemetry.py: tracing on only when the OTEL_* variables ask, configured
by them."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

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
