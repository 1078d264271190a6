"""The osint agent's crawl over the API, on a node whose scan scope is 127.0.0.1 only:
the planted facts come back, a site outside is 403 and never touched, a bad parameter 400.

The tests share one node: each crawls a site of its own and reads its own task only.
"""

from __future__ import annotations

import dataclasses

import pytest

from actors.agents.scope import CodeScope, NetworkScope, Scopes
from amas.runtime.node import NodeConfig
from tests.api.support import assert_envelope
from tests.conftest import fresh_config
from tests.fakes.website import Reply, Website

from ..actors.agents.skills.test_web_scraping import assert_no_connection, html, outside

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def shared_config(tmp_path_factory: pytest.TempPathFactory) -> NodeConfig:
    root = tmp_path_factory.mktemp("node")
    scopes = Scopes(NetworkScope.parse("127.0.0.1/32,localhost"), CodeScope.parse(None, root))
    return dataclasses.replace(fresh_config(root), scopes=scopes)


@pytest.fixture(scope="module")
def api(shared_api):
    return shared_api


async def test_a_crawl_completes_with_the_planted_facts(api, wait_task):
    with outside() as (away, listener):
        routes = {
            "/robots.txt": Reply("User-agent: *\nDisallow: /hidden\n", content_type="text/plain"),
            "/": Reply(
                html(
                    "Planted",
                    f'<a href="/team">team</a><a href="/hidden">h</a><a href="{away}/">away</a>'
                    '<script src="/js/jquery-3.7.1.min.js"></script>',
                    '<meta name="generator" content="Hugo 0.121.0">',
                )
            ),
            "/team": Reply(html("Team", "<p>ceo@planted.example, +1 650-253-0000</p>")),
        }
        with Website(routes) as site:
            response = await api.post(
                "/tasks",
                json={
                    "task_type": "web_scraping",
                    "parameters": {"target": site.url("/"), "delay": 0},
                },
            )
            assert response.status_code == 201, response.text
            assert all(a.startswith("osint-agent") for a in response.json()["assigned_agents"])
            task = await wait_task(response.json()["task_id"], "completed", "failed", timeout=10)
        assert_no_connection(listener)

    assert task["status"] == "completed", task
    results = (await api.get(f"/tasks/{task['task_id']}/results")).json()["results"]
    assert results["status"] == "ok"
    assert [p["title"] for p in results["pages"]] == ["Planted", "Team"]
    assert [e["email"] for e in results["emails"]] == ["ceo@planted.example"]
    assert [p["number"] for p in results["phones"]] == ["+16502530000"]
    assert {(t["name"], t["version"]) for t in results["technologies"]} >= {
        ("Hugo", "0.121.0"),
        ("jQuery", "3.7.1"),
    }
    assert results["links"]["external"] == [f"{away}/"]
    assert results["robots"]["disallowed_skipped"] == [site.url("/hidden")]
    assert "/hidden" not in site.paths


async def test_a_site_outside_the_scope_is_403_and_sees_no_connection(api):
    with outside() as (away, listener):
        response = await api.post(
            "/tasks", json={"task_type": "web_scraping", "parameters": {"target": f"{away}/"}}
        )
        error = assert_envelope(response, 403, "FORBIDDEN")
        assert error["details"]["parameter"] == "target"
        assert "AMAS_SCAN_SCOPE" in error["message"]
        assert_no_connection(listener)


@pytest.mark.parametrize(
    ("parameters", "name"),
    [
        ({"target": "ftp://127.0.0.1/"}, "target"),
        ({"target": "http://127.0.0.1/", "max_pages": 0}, "max_pages"),
        ({"target": "http://127.0.0.1/", "follow": True}, "follow"),
    ],
)
async def test_bad_crawl_parameters_are_400_naming_the_parameter(api, parameters, name):
    body = {"task_type": "web_scraping", "parameters": parameters}
    response = await api.post("/tasks", json=body)
    error = assert_envelope(response, 400, "INVALID_PARAMETER")
    assert error["details"]["parameter"] == name
