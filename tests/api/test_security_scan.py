"""The seed's `security_scan` over the API: the security and osint agents together on a
leaky site on 127.0.0.1, each with its own progress, merged into the seed's result.

The tests share one node (each scans a site of its own and reads its own tasks only),
but for the restart's, which has nodes of its own.
"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path
from typing import Any

import pytest

from actors.agents.scope import CodeScope, NetworkScope, Scopes
from amas.runtime.node import Node, NodeConfig
from tests.api.support import assert_envelope, assert_valid_sarif
from tests.conftest import fresh_config, serving
from tests.fakes.website import Reply, Website

_HOME = (
    "<!doctype html><html><head><title>Shop</title></head><body>"
    '<p>Write to sales@shop.test</p><a href="/about">about</a></body></html>'
)
LEAKY = {
    "/": Reply(_HOME, headers={"Set-Cookie": "session=abc123; Path=/"}),
    "/about": Reply("<html><title>About</title><p>Call +1 650-253-0000</p></html>"),
    "/.git/HEAD": Reply("ref: refs/heads/main\n", content_type="text/plain"),
    "/robots.txt": Reply("User-agent: *\nDisallow: /private/\n", content_type="text/plain"),
}


pytestmark = pytest.mark.asyncio(loop_scope="module")


def _config(root: Path) -> NodeConfig:
    scopes = Scopes(NetworkScope.parse("127.0.0.1/32,localhost"), CodeScope.parse(None, root))
    return dataclasses.replace(fresh_config(root), scopes=scopes)


@pytest.fixture
def node_config(tmp_path: Path) -> NodeConfig:
    return _config(tmp_path)


@pytest.fixture(scope="module")
def shared_config(tmp_path_factory: pytest.TempPathFactory) -> NodeConfig:
    return _config(tmp_path_factory.mktemp("node"))


@pytest.fixture(scope="module")
def api(shared_api):
    return shared_api


def _seed_request(site: Website) -> dict[str, Any]:
    """The seed's example, aimed at the local site instead of example.com."""
    return {
        "task_type": "security_scan",
        "parameters": {
            "target": site.url("/"),
            "scan_type": "quick",
            "include_subdomains": True,
            "delay": 0,
        },
        "priority": "high",
    }


async def test_the_seeds_example_completes_with_the_seeds_result_shape(api, wait_task):
    with Website(LEAKY) as site:
        response = await api.post("/tasks", json=_seed_request(site))
        assert response.status_code == 201, response.text
        submitted = response.json()
        assert "security-agent" in submitted["assigned_agents"]
        assert "osint-agent" in submitted["assigned_agents"]
        task_id = submitted["task_id"]
        task = await wait_task(task_id, "completed", "failed", timeout=30)
        fetched = list(site.paths)

    assert task["status"] == "completed", task
    assert task["progress"] == 100
    agents = task["agents"]
    assert {a.split("-agent")[0] for a in agents} == {"security", "osint"}, agents
    assert all(a == {"status": "completed", "progress": 100} for a in agents.values()), agents
    assert "/private/" not in fetched  # robots.txt holds for the crawl

    body = (await api.get(f"/tasks/{task_id}/results")).json()
    assert body["status"] == "completed"
    scan = body["results"]["security_scan"]
    assert set(scan) >= {"vulnerabilities", "security_score", "recommendations"}
    for vulnerability in scan["vulnerabilities"]:
        assert set(vulnerability) >= {"severity", "type", "description", "remediation", "evidence"}
        assert vulnerability["severity"] in ("low", "medium", "high", "critical")
    rules = {v["rule_id"] for v in scan["vulnerabilities"]}
    assert "exposed-git" in rules, rules
    assert "version-disclosed-server" in rules, rules
    assert isinstance(scan["security_score"], int) and 0 <= scan["security_score"] <= 100
    assert scan["recommendations"] and all(isinstance(r, str) for r in scan["recommendations"])
    # The score is the Observatory's minus the documented deductions, nothing else.
    score = scan["score"]
    assert score["observatory"]["url"].endswith(f":{site.port}/")
    expected = min(score["observatory"]["score"], 100) - sum(
        d["points"] for d in score["deductions"]
    )
    assert scan["security_score"] == max(expected, 0)
    assert site.port in [p["port"] for p in scan["open_ports"]]
    assert any(i["rule_id"] == "emails-published" for i in scan["informational"])
    assert scan["subdomains"] is None  # an address has no subdomains to list
    assert set(scan["parts"]) == {"security", "osint"}

    log = assert_valid_sarif(await api.get(f"/tasks/{task_id}/results?format=sarif"))
    sarif_rules = {r["ruleId"] for r in log["runs"][0]["results"]}
    assert sarif_rules == rules | {i["rule_id"] for i in scan["informational"]}

    # Each part is a task of its own, with its parent named.
    part = (await api.get(f"/tasks/{scan['parts']['security']['task_id']}")).json()
    assert part["task_type"] == "vulnerability_scanning"
    assert part["parent_id"] == task_id
    assert part["status"] == "completed"


async def test_cancelling_a_scan_cancels_its_parts(api, wait_task, eventually):
    slow = {**LEAKY, "/": Reply(_HOME, hold=True)}
    with Website(slow) as site:
        response = await api.post("/tasks", json=_seed_request(site))
        task_id = response.json()["task_id"]
        await wait_task(task_id, "in_progress", timeout=10)
        cancelled = await api.delete(f"/tasks/{task_id}")
        assert cancelled.status_code == 200, cancelled.text

        async def parts_cancelled() -> bool:
            for name in ("security", "osint"):
                part = (await api.get(f"/tasks/{task_id}-{name}")).json()
                if part["status"] != "cancelled":
                    return False
            return True

        await eventually(parts_cancelled, "both parts cancelled")
    assert (await api.get(f"/tasks/{task_id}")).json()["status"] == "cancelled"


async def test_a_target_outside_the_scope_is_403_before_any_part_exists(api):
    outside = socket.socket()
    try:
        outside.bind(("127.0.0.2", 0))
    except OSError:
        pytest.skip("127.0.0.2 is not a local address here")
    outside.listen(16)
    outside.setblocking(False)
    parts = {"task_type": "vulnerability_scanning"}
    before = (await api.get("/tasks", params=parts)).json()["total"]  # other tests' scans
    try:
        port = outside.getsockname()[1]
        response = await api.post(
            "/tasks",
            json={
                "task_type": "security_scan",
                "parameters": {"target": f"http://127.0.0.2:{port}/"},
            },
        )
        error = assert_envelope(response, 403, "FORBIDDEN")
        assert error["details"]["parameter"] == "target"
        with pytest.raises(BlockingIOError):
            outside.accept()
    finally:
        outside.close()
    listed = (await api.get("/tasks", params=parts)).json()
    assert listed["total"] == before


@pytest.mark.parametrize(
    ("parameters", "name"),
    [
        ({}, "target"),
        ({"target": "127.0.0.1", "scan_type": "everything"}, "scan_type"),
        ({"target": "127.0.0.1", "max_pages": 0}, "max_pages"),
        ({"target": "127.0.0.1", "ports": ["1-99999"]}, "ports"),
        ({"target": "ftp://127.0.0.1/"}, "target"),
        ({"target": "127.0.0.1", "depth": "deep"}, "depth"),
    ],
)
async def test_bad_parameters_are_400_naming_the_parameter(api, parameters, name):
    response = await api.post(
        "/tasks", json={"task_type": "security_scan", "parameters": parameters}
    )
    error = assert_envelope(response, 400, "INVALID_PARAMETER")
    assert error["details"]["parameter"] == name, error


async def test_a_restart_finishes_a_scan_whose_parts_were_running(
    node_config: NodeConfig, eventually: Any
) -> None:
    with Website({**LEAKY, "/": Reply(_HOME, hold=True)}) as site:
        async with Node(node_config) as node, serving(node) as api:
            response = await api.post("/tasks", json=_seed_request(site))
            task_id = response.json()["task_id"]

            async def crawling() -> bool:
                part = (await api.get(f"/tasks/{task_id}-osint")).json()
                return bool(part["status"] == "in_progress")

            await eventually(crawling, "the crawl has started")
        site.routes["/"] = Reply(_HOME)  # the site answers after the restart
        async with Node(node_config) as node, serving(node) as api:

            async def finished() -> bool:
                task = (await api.get(f"/tasks/{task_id}")).json()
                return bool(task["status"] == "completed")

            await eventually(finished, "the scan completes after the restart", timeout=30)
            parts = (await api.get(f"/tasks/{task_id}/results")).json()["results"]
            attempts = (await api.get(f"/tasks/{task_id}-osint")).json()["attempt"]
    assert parts["security_scan"]["parts"]["osint"]["status"] == "completed"
    assert attempts == 2  # the crawl the restart interrupted ran again
