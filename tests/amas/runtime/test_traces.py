"""Traces and structured logs on a real node (nats-server, SQLite, uvicorn): one task is one
trace from its POST to its completion, the response names it, its events carry it, the
log lines name it; off or unsampled, nothing is recorded and the ids still travel.

One node serves the module, with a fake AI vendor and a webhook receiver on 127.0.0.1;
each test tells its spans apart by the trace its response names.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio

from actors.providers.catalog import from_env
from amas.runtime.logs import JsonFormatter
from amas.runtime.node import Node
from events import tracing
from tests.conftest import WAIT, fresh_config, serving
from tests.fakes.llm.openai_api import FakeOpenAI
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.spans import in_trace, parent_id, recording, span_id

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def vendor() -> Iterator[FakeOpenAI]:
    with FakeOpenAI("sk-deepseek-test-key-0001") as fake:
        yield fake


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(
    tmp_path_factory: pytest.TempPathFactory, vendor: FakeOpenAI
) -> AsyncIterator[httpx.AsyncClient]:
    config = fresh_config(tmp_path_factory.mktemp("node"))
    config.providers = from_env(
        {
            "AMAS_PROVIDER_DEEPSEEK_API_KEY": vendor.key,
            "AMAS_PROVIDER_DEEPSEEK_BASE_URL": vendor.base_url,
        }
    )
    async with Node(config) as node, serving(node) as client:
        yield client


async def _until(check: Any, what: Any) -> None:
    """Poll `check()` until it holds; else fail saying `what` (a callable: its answer)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(WAIT):
            while not check():  # noqa: ASYNC110 (spans end on the node's callbacks)
                await asyncio.sleep(0.02)
    assert check(), what() if callable(what) else what


async def _completed(api: httpx.AsyncClient, task_id: str) -> None:
    async with asyncio.timeout(WAIT):
        while (await api.get(f"/tasks/{task_id}")).json()["status"] != "completed":  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def _events(api: httpx.AsyncClient, task_id: str) -> dict[str, dict[str, Any]]:
    page = (await api.get("/events", params={"stream": task_id})).json()
    return {event["type"]: event for event in page["events"]}


def _by_name(spans: list[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    named: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        named.setdefault(span.name, []).append(span)
    return named


def _work(named: dict[str, list[ReadableSpan]]) -> list[ReadableSpan]:
    """The agents' work spans (`work <agent type>`: any agent answers echo)."""
    return [span for name, spans in named.items() if name.startswith("work ") for span in spans]


def _ancestors(span: ReadableSpan, spans: list[ReadableSpan]) -> list[str]:
    """The names from `span`'s parent up to the root of the trace (within `spans`)."""
    by_id = {span_id(s): s for s in spans}
    names = []
    while (up := parent_id(span)) is not None and up in by_id:
        span = by_id[up]
        names.append(span.name)
    return names


async def test_one_task_is_one_trace_from_its_post_to_its_completion(
    api: httpx.AsyncClient,
) -> None:
    with recording() as exporter:
        response = await api.post("/tasks", json={"task_type": "echo", "parameters": {"n": 1}})
        assert response.status_code == 201, response.text
        task_id = response.json()["task_id"]
        traceparent = response.headers["traceparent"]
        await _completed(api, task_id)
        await _until(
            lambda: (
                "decide task.complete" in _by_name(in_trace(exporter, traceparent))
                and _work(_by_name(in_trace(exporter, traceparent)))
            ),
            lambda: " ".join(sorted(_by_name(in_trace(exporter, traceparent)))),
        )
        spans = in_trace(exporter, traceparent)

    assert tracing.valid(traceparent) == traceparent and tracing.sampled(traceparent)
    named = _by_name(spans)
    [http] = named["POST /api/v1/tasks"]
    assert parent_id(http) is None and span_id(http) == traceparent[36:52]
    assert http.attributes is not None and http.attributes["http.response.status_code"] == 201
    # every span of the task hangs from the HTTP span
    assert all(_ancestors(s, spans)[-1:] == [http.name] for s in spans if s is not http)
    [submit] = named["decide task.submit"]
    assert _ancestors(submit, spans) == ["send amas.cmd.task.submit", "POST /api/v1/tasks"]
    assert submit.attributes is not None and submit.attributes["amas.task_id"] == task_id
    appends = [
        s for s in named["events.append"] if s.attributes and s.attributes["amas.stream"] == task_id
    ]
    assert _ancestors(appends[0], spans)[0] == "decide task.submit"
    [work] = _work(named)
    assert _ancestors(work, spans) == ["decide task.submit", *_ancestors(submit, spans)]
    assert work.attributes is not None and work.attributes["amas.task_id"] == task_id
    [complete] = named["decide task.complete"]
    assert _ancestors(complete, spans)[:2] == ["send amas.cmd.task.report", work.name]
    assert "decide task.start" in named
    assert {_ancestors(a, spans)[0] for a in appends} >= {
        "decide task.submit",
        "decide task.start",
        "decide task.complete",
    }

    events = await _events(api, task_id)
    assert {"task.created", "task.started", "task.completed"} <= set(events)
    for event in events.values():
        carried = event["meta"]["trace"]["traceparent"]
        assert carried[3:35] == traceparent[3:35], event["type"]
    assert events["task.created"]["meta"]["trace"]["traceparent"][36:52] == span_id(submit)
    assert events["task.completed"]["meta"]["trace"]["traceparent"][36:52] == span_id(complete)


async def test_a_callers_traceparent_is_continued(api: httpx.AsyncClient) -> None:
    theirs = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with recording() as exporter:
        response = await api.get("/tasks", headers={"traceparent": theirs})
        ours = response.headers["traceparent"]
        [http] = in_trace(exporter, theirs)
    assert ours[3:35] == theirs[3:35] and ours[36:52] == span_id(http)
    assert parent_id(http) == theirs[36:52]
    assert http.name == "GET /api/v1/tasks"


async def test_off_no_span_is_recorded_and_the_trace_still_travels(
    api: httpx.AsyncClient,
) -> None:
    exporter = InMemorySpanExporter()  # attached to nothing: tracing stays off
    assert not tracing.enabled()
    response = await api.post("/tasks", json={"task_type": "echo"})
    task_id = response.json()["task_id"]
    traceparent = response.headers["traceparent"]
    await _completed(api, task_id)

    assert exporter.get_finished_spans() == ()
    assert tracing.valid(traceparent) == traceparent and not tracing.sampled(traceparent)
    events = await _events(api, task_id)
    assert {"task.created", "task.started", "task.completed"} <= set(events)
    for event in events.values():
        assert event["meta"]["trace"]["traceparent"][3:35] == traceparent[3:35], event["type"]
    bad = await api.get("/tasks/nope", headers={"traceparent": "garbage"})
    assert bad.status_code == 404 and tracing.valid(bad.headers["traceparent"]) is not None


async def test_an_unsampled_request_records_nothing_and_names_its_trace(
    api: httpx.AsyncClient,
) -> None:
    with recording(ParentBasedTraceIdRatio(0.0)) as exporter:
        response = await api.post("/tasks", json={"task_type": "echo"})
        task_id = response.json()["task_id"]
        await _completed(api, task_id)
        recorded = exporter.get_finished_spans()
    traceparent = response.headers["traceparent"]
    assert not tracing.sampled(traceparent)
    assert recorded == ()
    events = await _events(api, task_id)
    assert all(
        e["meta"]["trace"]["traceparent"][3:35] == traceparent[3:35] for e in events.values()
    )


async def test_a_provider_call_and_a_callback_delivery_are_spans_of_their_trace(
    api: httpx.AsyncClient, vendor: FakeOpenAI
) -> None:
    with recording() as exporter, WebhookReceiver() as receiver:
        asked = await api.post(
            "/ai/complete", json={"messages": [{"role": "user", "content": "Say hello"}]}
        )
        assert asked.status_code == 200, asked.text
        posted = await api.post(
            "/tasks", json={"task_type": "echo", "callback_url": receiver.url()}
        )
        await _until(
            lambda: any(r.json()["event"] == "task.completed" for r in receiver.requests),
            "the task.completed callback",
        )
        await _until(
            lambda: (
                len(
                    _by_name(in_trace(exporter, posted.headers["traceparent"])).get(
                        "webhook.deliver", []
                    )
                )
                >= 3
            ),
            "the deliveries' spans",
        )
        asking = in_trace(exporter, asked.headers["traceparent"])
        task = in_trace(exporter, posted.headers["traceparent"])

    [chat] = _by_name(asking)["chat deepseek"]
    assert _ancestors(chat, asking) == [
        "ai.complete",
        "send amas.cmd.provider.complete",
        "POST /api/v1/ai/complete",
    ]
    deliveries = _by_name(task)["webhook.deliver"]
    assert {_ancestors(d, task)[-1] for d in deliveries} == {"POST /api/v1/tasks"}


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


async def test_json_log_lines_name_the_request_the_trace_and_the_task(
    api: httpx.AsyncClient,
) -> None:
    lines = _Lines()
    logger = logging.getLogger("actors.tasks.manager")
    logger.addHandler(lines)
    logger.setLevel(logging.DEBUG)
    try:
        response = await api.post("/tasks", json={"task_type": "echo"})
        task_id = response.json()["task_id"]
        await _completed(api, task_id)
    finally:
        logger.removeHandler(lines)
        logger.setLevel(logging.NOTSET)

    trace_id = response.headers["traceparent"][3:35]
    mine = {
        line["message"].partition(":")[0]: line
        for line in lines.lines
        if line.get("task_id") == task_id
    }
    submitted = mine["task.submit"]
    assert submitted["request_id"] == response.headers["x-request-id"]
    assert submitted["trace_id"] == trace_id
    assert submitted["message"] == "task.submit: task.created"
    assert mine["task.complete"]["trace_id"] == trace_id
