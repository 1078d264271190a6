"""Every resource of the SDK against a real node over real HTTP: the blocking Client
(in a worker thread, the node on the test's loop) for each area, and the AsyncClient
for the same kinds of method (a call, a list, a flow, a stream)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from actors.agents.scope import CodeScope, NetworkScope, Scopes
from actors.providers.catalog import from_env
from amas.runtime.node import NodeConfig
from amas.sdk import AuthenticationError, NotFoundError
from amas.sdk.models import Capability, Completion, WebhookWithSecret
from tests.conftest import fresh_config
from tests.fakes.llm import hang, ok
from tests.fakes.llm.openai_api import FakeOpenAI
from tests.fixtures.planted_repo import PlantedRepo, make_repo
from tests.sdk.support import async_client, client, in_thread

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def deepseek() -> Iterator[FakeOpenAI]:
    with FakeOpenAI("sk-deepseek-sdk-test-0001") as fake:
        fake.default = ok("Hello from the fake.")
        yield fake


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("code")


@pytest.fixture(scope="module")
def repo(code: Path) -> PlantedRepo:
    return make_repo(code / "shop")


@pytest.fixture(scope="module")
def shared_config(
    tmp_path_factory: pytest.TempPathFactory, deepseek: FakeOpenAI, code: Path
) -> NodeConfig:
    """A node with one fake AI vendor and a code scope holding a planted repository."""
    config = fresh_config(tmp_path_factory.mktemp("node"))
    config.providers = from_env(
        {
            "AMAS_PROVIDER_DEEPSEEK_API_KEY": deepseek.key,
            "AMAS_PROVIDER_DEEPSEEK_BASE_URL": deepseek.base_url,
        }
    )
    config.scopes = Scopes(NetworkScope.parse("127.0.0.1/32"), CodeScope.parse(None, code))
    return config


@pytest.fixture(scope="module")
def api(shared_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_api


async def test_tasks_submit_get_wait_results_cancel_and_list(api, repo):
    def scenario() -> None:
        with client(api) as c:
            submitted = c.tasks.submit(
                "echo", parameters={"message": "hi", "steps": 2}, priority="high"
            )
            assert submitted.status == "queued" and submitted.task_id.startswith("task-")
            assert "security-agent" in submitted.assigned_agents
            task = c.tasks.wait(submitted.task_id, via="http")
            assert (task.status, task.progress, task.priority) == ("completed", 100, "high")
            assert task.finished and isinstance(task.completed_at, datetime)
            got = c.tasks.get(submitted.task_id)
            assert got.task_id == submitted.task_id and got.agents
            [progress] = got.agents.values()
            assert progress.status == "completed" and progress.progress == 100
            results = c.tasks.results(submitted.task_id)
            assert results.results == {"echo": {"message": "hi", "steps": 2}}
            assert results.error is None
            analysed = c.tasks.submit("code_analysis", parameters={"path": str(repo.path)})
            assert c.tasks.wait(analysed.task_id, timeout=60).status == "completed"
            sarif = c.tasks.results_sarif(analysed.task_id)
            assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
            report = c.tasks.results_markdown(analysed.task_id)
            assert report.startswith("# ") and analysed.task_id in report

            running = c.tasks.submit("echo", parameters={"delay": 30, "steps": 1})
            cancelled = c.tasks.cancel(running.task_id)
            assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
            assert c.tasks.get(running.task_id).status == "cancelled"
            listed = [t.task_id for t in c.tasks.list(status="cancelled", limit=1)]
            assert running.task_id in listed
            newest = c.tasks.list(priority="high", task_type="echo", limit=5).first_page()
            assert submitted.task_id in [t.task_id for t in newest.items]

    await in_thread(scenario)


async def test_a_list_fetches_each_page_when_iteration_reaches_it(api):
    sent: list[httpx.Request] = []

    def scenario() -> None:
        with client(api, sent=sent) as c:
            for n in range(5):
                c.tasks.submit("echo", parameters={"n": n})
            pager = c.tasks.list(task_type="echo", limit=2)
            sent.clear()
            first_three = list(itertools.islice(pager, 3))
            assert len(first_three) == 3 and len(sent) == 2  # two pages of two, no third
            assert [r.url.params["offset"] for r in sent] == ["0", "2"]
            page = pager.first_page()
            assert page.has_more and page.total is not None and page.total >= 5
            assert page.next_cursor == 2
            everything = [t.task_id for t in pager]
            assert len(everything) == len(set(everything)) == page.total
            assert sum(len(p.items) for p in pager.pages()) == page.total

    await in_thread(scenario)


async def test_agents_list_get_and_configure(api):
    def scenario() -> None:
        with client(api) as c:
            agents = c.agents.list()
            assert len(agents) == 8 and {a.type for a in agents} >= {"security", "osint"}
            assert all(a.performance is not None for a in agents)
            agent = c.agents.get("security-agent")
            scanning = agent.capabilities["vulnerability_scanning"]
            assert isinstance(scanning, Capability) and "target" in scanning.parameters
            changed = c.agents.configure("security-agent-2", max_concurrent_tasks=3)
            assert changed.status == "updated" and changed.configuration.max_concurrent_tasks == 3
            configuration = c.agents.get("security-agent-2").configuration
            assert configuration is not None and configuration.max_concurrent_tasks == 3

    await in_thread(scenario)


async def test_api_keys_create_list_get_rotate_and_revoke(api):
    def scenario() -> None:
        with client(api) as c:
            made = c.api_keys.create("sdk test", scopes=["read"], tier="basic", owner="sdk")
            assert made.api_key and made.api_key.startswith(made.prefix)
            assert (made.scopes, made.tier, made.status) == (["read"], "basic", "active")
            assert made.key_id in [k.key_id for k in c.api_keys.list()]
            assert c.api_keys.get(made.key_id).owner == "sdk"
            with client(api, made.api_key) as reader:
                assert reader.agents.list()
            rotated = c.api_keys.rotate(made.key_id, expires_at="2100-01-01T00:00:00Z")
            assert rotated.api_key and rotated.api_key != made.api_key
            assert rotated.expires_at == datetime.fromisoformat("2100-01-01T00:00:00+00:00")
            revoked = c.api_keys.revoke(made.key_id)
            assert revoked.status == "revoked" and revoked.revoked_at is not None
            with client(api, rotated.api_key) as refused, pytest.raises(AuthenticationError):
                refused.agents.list()

    await in_thread(scenario)


async def test_providers_list_status_get_configure_and_test(api, deepseek):
    def scenario() -> None:
        with client(api) as c:
            board = c.providers.list()
            assert board.total_providers == 16 and board.fallback_chain[0] == "deepseek"
            [first] = [p for p in board.providers if p.id == "deepseek"]
            assert first.status == "active" and first.health is not None
            status = c.providers.status()
            assert {p.name for p in status.providers} >= {"deepseek", "ollama"}
            assert status.active_providers == 1
            provider = c.providers.get("deepseek")
            assert provider.configuration["api_key_set"] is True and provider.metrics is not None
            changed = c.providers.configure("ollama", priority=40, timeout=5.0)
            assert changed.status == "updated" and changed.config["priority"] == 40
            assert c.providers.get("ollama").priority == 40
            tested = c.providers.test("deepseek")
            assert (
                tested.provider_id == "deepseek" and tested.test_results["connectivity"] == "pass"
            )

    await in_thread(scenario)


async def test_ai_complete_and_its_stream(api):
    messages = [{"role": "user", "content": "Say hello"}]

    def scenario() -> None:
        with client(api) as c:
            answer = c.ai.complete(messages, strategy="priority", max_tokens=20)
            assert isinstance(answer, Completion)
            assert (answer.content, answer.provider) == ("Hello from the fake.", "deepseek")
            assert answer.usage is not None and answer.attempts[-1].outcome == "ok"
            chunks = list(c.ai.stream(messages))
            assert chunks[-1].event == "done" and chunks[-1].completion is not None
            text = "".join(ch.text or "" for ch in chunks if ch.event == "delta")
            assert text == chunks[-1].completion.content == "Hello from the fake."

    await in_thread(scenario)
    async with async_client(api) as c:
        chunks = [ch async for ch in c.ai.stream(messages)]
        assert chunks[-1].event == "done"
        assert (await c.ai.complete(messages)).provider == "deepseek"


async def test_webhooks_create_list_get_update_test_deliveries_redeliver_rotate_delete(api):
    from tests.fakes.webhook_receiver import WebhookReceiver

    def scenario(url: str) -> None:
        with client(api) as c:
            made = c.webhooks.create(url, ["task.completed"], description="sdk")
            assert isinstance(made, WebhookWithSecret) and made.secret and made.enabled
            assert made.id in [w.id for w in c.webhooks.list()]
            assert c.webhooks.get(made.id).description == "sdk"
            changed = c.webhooks.update(made.id, events=["task.*"], enabled=True)
            assert changed.events == ["task.*"]
            sent = c.webhooks.test(made.id)
            assert sent.status == "delivered" and sent.attempts == 1 and sent.last_status == 200
            [delivery] = list(c.webhooks.deliveries(made.id))
            assert delivery.delivery_id == sent.delivery_id
            again = c.webhooks.redeliver(made.id, delivery.delivery_id)
            assert again.attempts == 2 and again.status == "delivered"
            rotated = c.webhooks.rotate_secret(made.id)
            assert rotated.secret and rotated.secret != made.secret
            assert c.webhooks.rotate_callback_secret().secret.startswith("whsec_")
            assert c.webhooks.delete(made.id).status == "deleted"
            assert made.id not in [w.id for w in c.webhooks.list()]

    with WebhookReceiver() as receiver:
        await in_thread(lambda: scenario(receiver.url()))
        assert len(receiver.requests) == 2


async def test_events_list_and_verify(api):
    def scenario() -> None:
        with client(api) as c:
            task = c.tasks.submit("echo")
            c.tasks.wait(task.task_id)
            mine = list(c.events.list(stream=task.task_id))
            assert [e.version for e in mine] == list(range(1, len(mine) + 1))
            assert "ml.decision" in [e.type for e in mine]  # written with the start
            assert mine[0].type == "task.created" and mine[-1].type == "task.completed"
            paged = c.events.list(types=["task.created"], limit=2)
            first = paged.first_page()
            assert len(first.items) == 2 and first.has_more and first.raw["head"] > 0
            assert first.next_cursor is not None and first.next_cursor > first.items[-1].position
            check = c.events.verify()
            assert check.ok and check.events == check.head and check.first_bad_position is None

    await in_thread(scenario)


async def test_metrics_now_history_and_prometheus(api):
    def scenario() -> None:
        with client(api) as c:
            now = c.metrics.get()
            assert now.agents.active + now.agents.idle + now.agents.error == 8
            history = c.metrics.history("throughput", period="1h")
            assert (history.metric, history.unit, len(history.data_points)) == (
                "throughput", "tasks per minute", 12,
            )  # fmt: skip
            assert isinstance(history.data_points[0].timestamp, datetime)
            assert "amas_http_requests_total" in c.metrics.prometheus()

    await in_thread(scenario)


async def test_system_health_and_info(api):
    def scenario() -> None:
        with client(api, key=None) as anonymous:
            health = anonymous.system.health()  # no key needed
            assert health.healthy and health.services["nats"] == "running"
        with client(api) as c:
            info = c.system.info()
            assert info.agents["total"] == 8 and info.ai_providers["total"] == 16
            assert info.event_log["head"] > 0

    await in_thread(scenario)


async def test_workflows_of_each_type_and_what_they_share(api, code, repo, deepseek):
    issues = code / "issues"
    issues.mkdir()
    (issues / "1.md").write_text("---\nnumber: 1\ntitle: Crash\nauthor: ana\n---\nIt crashes.\n")

    def scenario() -> None:
        with client(api) as c:
            flows = c.workflows
            run = flows.orchestrator.trigger(repository=str(repo.path), max_findings=5)
            assert run.layers is not None and "layer1_detection_analysis" in run.layers
            status = _until_ended(lambda: flows.orchestrator.status(run.workflow_id))
            assert status.status == "completed" and status.workflow_type == "orchestrator"
            assert flows.get(run.workflow_id).progress == 100
            assert run.workflow_id in [
                w.workflow_id for w in flows.list(workflow_type="orchestrator")
            ]
            logs = list(flows.logs(run.workflow_id, level="info", limit=3))
            assert logs and all(entry.level in ("info", "warning", "error") for entry in logs)
            assert flows.metrics(timeframe="1h").metrics["total_workflows"] >= 1

            improver = flows.self_improver.trigger(
                repository=str(repo.path), learning_depth="surface"
            )
            assert improver.phases is not None
            improved = _until_ended(lambda: flows.self_improver.results(improver.workflow_id))
            assert improved.status == "completed", improved
            verified = [i["id"] for i in improved.improvements if i.get("verified")]
            approval = flows.approve(improver.workflow_id, verified[:1])
            assert approval.status == "approved" and approval.approval["applied"] == verified[:1]

            responder = flows.issue_responder.trigger(
                issues_folder=str(issues), repository=str(repo.path)
            )
            answered = _until_ended(lambda: flows.issue_responder.results(responder.workflow_id))
            assert answered.status == "completed" and answered.responses

            calls = deepseek.count("/chat/completions")
            deepseek.script(hang())  # the next run waits on its provider until cancelled
            slow = flows.orchestrator.trigger(repository=str(repo.path))
            _until(lambda: deepseek.count("/chat/completions") > calls)
            stopped = flows.cancel(slow.workflow_id)
            assert (stopped.workflow_id, stopped.status) == (slow.workflow_id, "cancelled")

            config = flows.config()
            assert "intelligent" in config.orchestrator.modes
            updated = flows.update_config(self_improver={"default_depth": "medium"})
            assert updated.config is not None
            assert updated.config.self_improver.settings["default_depth"] == "medium"

    await in_thread(scenario)


def _until(check: Callable[[], Any], what: str = "") -> Any:
    deadline = time.monotonic() + 60
    while not (seen := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return seen


def _until_ended(read: Callable[[], Any]) -> Any:
    return _until(lambda: (seen := read()).status in ("completed", "failed") and seen, "ended")


async def test_the_async_client_calls_lists_and_waits(api):
    async with async_client(api) as c:
        submitted = await c.tasks.submit("echo", parameters={"steps": 1})
        task = await c.tasks.wait(submitted.task_id, via="http")
        assert task.status == "completed"
        listed = [t.task_id async for t in c.tasks.list(task_type="echo", limit=2)]
        assert submitted.task_id in listed and len(listed) == len(set(listed))
        page = await c.tasks.list(limit=1).first_page()
        assert page.has_more and len(page.items) == 1
        assert (await c.system.health()).healthy
        assert len(await c.agents.list()) == 8


async def test_learning_status_and_a_recommendation_to_apply(api):
    def scenario() -> None:
        with client(api) as c:
            task = c.tasks.submit("echo")
            c.tasks.wait(task.task_id)
            engine = c.learning.decision_engine_status()
            assert engine.status == "active" and engine.metrics["predictions_made"] >= 1
            optimizer = c.learning.optimizer_status()
            assert optimizer.environment == "amas_gym_v1"
            with pytest.raises(NotFoundError):
                c.learning.apply_recommendation("opt-none")

    await in_thread(scenario)


async def test_the_log_followed_live_sees_a_task_to_its_end(api):
    async with async_client(api) as c:
        head = (await api.get("/events", params={"limit": 1})).json()["head"]
        task = await c.tasks.submit("echo", parameters={"steps": 2})
        seen = []
        async for event in c.events.follow(types=["task.*"], from_position=head + 1):
            if event.stream == task.task_id:
                seen.append(event.type)
            if event.type == "task.completed" and event.stream == task.task_id:
                break
    assert seen[0] == "task.created" and seen[-1] == "task.completed"
    assert seen.count("task.progress") == 2
