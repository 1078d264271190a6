"""GET /metrics at the root: Prometheus' text format from the node's own registry, read
with prometheus_client's own parser, moving with the work the tests do.

One node for the module, with a fake DeepSeek for the provider figures and a webhook
receiver for the deliveries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from actors.providers.catalog import from_env
from amas.runtime.node import Node
from tests.api.support import (
    assert_envelope,
    make_key,
    settled_metrics,
    submit_echo,
    wait_status,
)
from tests.api.vendors import ROUTER, ask
from tests.conftest import fresh_config, serving
from tests.fakes.llm.openai_api import FakeOpenAI
from tests.fakes.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.asyncio(loop_scope="module")

FAMILIES = {
    "amas_http_requests",
    "amas_http_request_duration_seconds",
    "amas_tasks",
    "amas_queue_depth",
    "amas_agent_queue_depth",
    "amas_agent_slots_busy",
    "amas_agent_slots",
    "amas_agent_up",
    "amas_provider_calls",
    "amas_provider_latency_seconds",
    "amas_provider_tokens",
    "amas_provider_cost_usd",
    "amas_provider_breaker_state",
    "amas_webhook_deliveries",
    "amas_event_log_head",
    "amas_projection_position",
    "amas_projection_lag_events",
    "amas_relay_position",
    "amas_relay_lag_events",
    "amas_relay_published_events",
    "amas_nats_connected",
    "amas_nats_reconnects",
    "amas_nats_disconnects",
    "amas_nats_server_restarts",
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    """Outlives the node, which closes its connections to it first."""
    with WebhookReceiver() as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(
    tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> AsyncIterator[httpx.AsyncClient]:
    with FakeOpenAI("sk-deepseek-test-key-0001") as deepseek:
        config = fresh_config(tmp_path_factory.mktemp("node"))
        config.providers = from_env(
            {"AMAS_PROVIDER_DEEPSEEK_API_KEY": deepseek.key,
             "AMAS_PROVIDER_DEEPSEEK_BASE_URL": deepseek.base_url}
        )  # fmt: skip
        config.router = ROUTER
        async with Node(config) as node, serving(node) as client:
            yield client


class Scrape:
    """A scrape, parsed by prometheus_client: families by name, samples by name and labels."""

    def __init__(self, text: str) -> None:
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = {
            (s.name, frozenset(s.labels.items())): s.value
            for family in self.families.values()
            for s in family.samples
        }

    def __call__(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def labelled(self, name: str, label: str) -> dict[str, float]:
        return {
            dict(labels)[label]: value
            for (sample, labels), value in self.samples.items()
            if sample == name and label in dict(labels)
        }


async def scrape(api: httpx.AsyncClient, **headers: str) -> httpx.Response:
    """GET /metrics, with `headers` instead of the admin key when given."""
    url = api.base_url.copy_with(path="/metrics")
    if not headers:
        return await api.get(url)
    async with httpx.AsyncClient(timeout=api.timeout) as bare:
        return await bare.get(url, headers=headers)


async def scraped(api: httpx.AsyncClient) -> Scrape:
    response = await scrape(api)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Scrape(response.text)


async def test_the_scrape_parses_and_carries_every_family(api):
    metrics = await scraped(api)

    assert set(metrics.families) >= FAMILIES
    assert metrics("amas_nats_connected") == 1
    assert metrics("amas_event_log_head") > 0
    slots = metrics.labelled("amas_agent_slots", "agent")
    assert len(slots) == 8 and set(slots.values()) == {5.0}
    projections = metrics.labelled("amas_projection_lag_events", "projection")
    assert {"tasks", "agents", "metrics", "providers", "webhook_deliveries"} <= set(projections)


async def test_a_read_key_works_as_bearer_or_x_api_key_and_no_key_is_401(api):
    reader = (await make_key(api, ["read"]))["api_key"]
    writer = (await make_key(api, ["write"]))["api_key"]

    assert (await scrape(api, Authorization=f"Bearer {reader}")).status_code == 200
    assert (await scrape(api, **{"X-API-Key": reader})).status_code == 200
    missing = assert_envelope(await scrape(api, Accept="text/plain"), 401, "UNAUTHORIZED")
    assert "Authorization" in missing["details"]["header"]
    assert_envelope(await scrape(api, Authorization="Bearer amas_nope_x"), 401, "UNAUTHORIZED")
    assert_envelope(await scrape(api, Authorization=f"Basic {reader}"), 401, "UNAUTHORIZED")
    assert_envelope(await scrape(api, Authorization=f"Bearer {writer}"), 403, "FORBIDDEN")
    # Elsewhere the key goes in X-API-Key only, as before.
    async with httpx.AsyncClient(base_url=api.base_url, timeout=api.timeout) as bare:
        elsewhere = await bare.get("/tasks", headers={"Authorization": f"Bearer {reader}"})
    assert_envelope(elsewhere, 401, "UNAUTHORIZED")


async def test_the_figures_move_with_the_work_done(api, receiver, eventually):
    before = await scraped(api)
    # For an event that will not come: the one delivery counted is the test ping's.
    made = await api.post("/webhooks", json={"url": receiver.url(), "events": ["system.alert"]})
    assert made.status_code == 201, made.text
    tested = await api.post(f"/webhooks/{made.json()['id']}/test")
    assert tested.json()["status"] == "delivered", tested.text
    for task_id in [await submit_echo(api, delay=0.05) for _ in range(2)]:
        await wait_status(api, task_id, "completed")
    for _ in range(3):
        assert (await api.get("/agents/osint-agent")).status_code == 200
    assert (await api.get("/tasks/task-nope")).status_code == 404
    assert (await api.post("/ai/complete", json=ask())).status_code == 200
    await settled_metrics(api, eventually, queued_tasks=0, active_tasks=0)

    async def caught_up() -> bool:
        now = await scraped(api)
        lags = now.labelled("amas_projection_lag_events", "projection").values()
        return set(lags) == {0.0} and now("amas_relay_lag_events") == 0

    await eventually(caught_up, "projections and relay at the head")
    after = await scraped(api)

    def grew(name: str, **labels: str) -> float:
        return after(name, **labels) - before(name, **labels)

    assert grew("amas_tasks", type="echo", status="completed") == 2
    assert after("amas_queue_depth") == 0
    route = {"method": "GET", "route": "/api/v1/agents/{agent_id}", "status": "200"}
    assert grew("amas_http_requests_total", **route) == 3
    assert grew("amas_http_request_duration_seconds_count", **route) == 3
    assert grew("amas_http_request_duration_seconds_bucket", le="+Inf", **route) == 3
    missing = {"method": "GET", "route": "/api/v1/tasks/{task_id}", "status": "404"}
    assert grew("amas_http_requests_total", **missing) == 1
    assert "task-nope" not in (await scrape(api)).text  # the template, never the raw path
    assert grew("amas_provider_calls_total", provider="deepseek", outcome="ok") == 1
    assert grew("amas_provider_latency_seconds_count", provider="deepseek") == 1
    assert grew("amas_provider_latency_seconds_sum", provider="deepseek") > 0
    assert grew("amas_provider_tokens_total", provider="deepseek", kind="completion") > 0
    assert after("amas_provider_breaker_state", provider="deepseek", state="closed") == 1
    assert grew("amas_webhook_deliveries", status="delivered") == 1
    assert after("amas_event_log_head") > before("amas_event_log_head")
    assert 0 < after("amas_relay_position") <= after("amas_event_log_head")
    assert after("amas_nats_reconnects_total") == 0


async def test_openmetrics_when_the_scraper_asks_for_it(api):
    accept = "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5"
    response = await scrape(api, **{"X-API-Key": api.headers["X-API-Key"], "Accept": accept})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")
