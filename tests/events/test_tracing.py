"""events/tracing.py: traceparents read and minted, the ambient scope, spans made only
where a trace records, and meta stamped with the deciding span."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBasedTraceIdRatio

from events import tracing
from events.envelope import Meta
from tests.spans import parent_id, recording, span_id

SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
UNSAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


@pytest.mark.parametrize(
    ("given", "read"),
    [
        (SAMPLED, SAMPLED),
        (UNSAMPLED, UNSAMPLED),
        # A later version: its first four fields, as version 00 (W3C's forward rule).
        ("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-follows",
         "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", None),
        ("00-00000000000000000000000000000000-b7ad6b7169203331-01", None),
        ("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", None),
        ("00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01", None),
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra", None),
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01", None),
        ("not a traceparent", None),
        ("", None),
        (None, None),
    ],
)  # fmt: skip
def test_valid_reads_a_w3c_traceparent_and_refuses_anything_else(
    given: str | None, read: str | None
) -> None:
    assert tracing.valid(given) == read


def test_mint_makes_an_unsampled_traceparent_in_a_new_trace_or_a_given_one() -> None:
    fresh = tracing.mint()
    assert tracing.valid(fresh) == fresh
    assert not tracing.sampled(fresh)
    assert tracing.mint()[3:35] != fresh[3:35]
    same = tracing.mint("0af7651916cd43dd8448eb211c80319c")
    assert same[3:35] == "0af7651916cd43dd8448eb211c80319c" and same[36:52] != SAMPLED[36:52]


def test_off_a_scope_names_its_parent_and_makes_no_span() -> None:
    assert not tracing.enabled()
    with tracing.span("work", parent=SAMPLED, task_id="task-1") as span:
        assert span is None
        here = tracing.here()
        assert here is not None
        assert (here.traceparent, here.task_id) == (SAMPLED, "task-1")
        assert tracing.headers() == {"traceparent": SAMPLED}
        with tracing.span("inner") as inner:
            assert inner is None and tracing.current() == SAMPLED
    assert tracing.here() is None
    assert tracing.headers() is None


def test_off_the_edge_mints_a_traceparent_in_the_callers_trace_or_a_new_one() -> None:
    with tracing.span("GET", parent=SAMPLED, mint=True, request_id="req-1"):
        minted = tracing.current()
        assert minted is not None and minted[3:35] == SAMPLED[3:35] and minted != SAMPLED
        assert not tracing.sampled(minted)
        here = tracing.here()
        assert here is not None and here.request_id == "req-1"
    with tracing.span("GET", parent=None, mint=True):
        assert tracing.valid(tracing.current()) is not None


def test_on_spans_nest_under_the_ambient_one_and_meta_is_stamped_with_it() -> None:
    with recording() as exporter:
        with tracing.span("outer", parent=SAMPLED, kind=tracing.SERVER) as outer:
            assert outer is not None
            outer_traceparent = tracing.current()
            with tracing.span("inner") as inner:
                assert inner is not None
                stamped = tracing.stamped(Meta(actor="me", trace={"other": "kept"}))
                assert stamped.trace["traceparent"] == tracing.current()
                assert stamped.trace["other"] == "kept"
                child = tracing.child("detached", attributes={"n": 1})
                assert child is not None
            tracing.finish(child)
        spans = {s.name: s for s in exporter.get_finished_spans()}

    assert set(spans) == {"outer", "inner", "detached"}
    assert parent_id(spans["outer"]) == SAMPLED[36:52]
    assert outer_traceparent is not None and span_id(spans["outer"]) == outer_traceparent[36:52]
    assert parent_id(spans["inner"]) == span_id(spans["outer"])
    assert parent_id(spans["detached"]) == span_id(spans["inner"])
    assert all(f"{s.context.trace_id:032x}" == SAMPLED[3:35] for s in spans.values() if s.context)


def test_on_an_unsampled_parent_makes_no_span_under_a_parent_based_sampler() -> None:
    with recording(ParentBasedTraceIdRatio(1.0)) as exporter:
        with tracing.span("hop", parent=UNSAMPLED) as span:
            assert span is None
            assert tracing.current() == UNSAMPLED
            assert not tracing.recording()
        assert exporter.get_finished_spans() == ()


def test_on_a_sampler_that_ignores_the_parent_is_asked_at_every_hop() -> None:
    with recording(ALWAYS_ON) as exporter:
        with tracing.span("hop", parent=UNSAMPLED) as span:
            assert span is not None
        assert [s.name for s in exporter.get_finished_spans()] == ["hop"]


def test_on_an_error_marks_the_span_and_goes_on() -> None:
    with recording() as exporter:
        with pytest.raises(KeyError), tracing.span("failing", parent=None):
            raise KeyError("x")
        [span] = exporter.get_finished_spans()
    assert not span.status.is_ok
    assert [e.name for e in span.events] == ["exception"]


def test_stamped_leaves_meta_alone_outside_a_trace_or_when_it_names_the_trace() -> None:
    meta = Meta(actor="me")
    assert tracing.stamped(meta) is meta
    named = Meta(trace={"traceparent": SAMPLED})
    with tracing.continued(SAMPLED):
        assert tracing.stamped(named) is named
    assert tracing.trace_of(named) == SAMPLED and tracing.trace_of(meta) is None


def test_about_names_the_task_until_the_scope_ends() -> None:
    with tracing.continued(SAMPLED):
        with tracing.span("decide"):
            tracing.about("task-9")
            here = tracing.here()
            assert here is not None and here.task_id == "task-9"
        here = tracing.here()
        assert here is not None and here.task_id is None


def test_only_a_sampled_trace_goes_in_headers_and_a_command_carries_its_own() -> None:
    from events.commands import StartTask, SubmitTask

    with tracing.continued(UNSAMPLED):
        assert tracing.headers() is None  # it travels in the command instead
    with tracing.continued(SAMPLED):
        assert tracing.headers() == {"traceparent": SAMPLED}
    start = StartTask(task_id="t", agent_id="a", attempt=1, trace=UNSAMPLED)
    submit = SubmitTask(task_type="echo", meta=Meta(trace={"traceparent": SAMPLED}))
    assert tracing.carried(start) == UNSAMPLED
    assert tracing.carried(submit) == SAMPLED
    assert tracing.carried(SubmitTask(task_type="echo")) is None


def test_a_meta_with_a_malformed_traceparent_names_no_trace() -> None:
    assert tracing.trace_of(Meta(trace={"traceparent": "not one"})) is None
