"""Health, system information, the agent roster and the API's own documentation."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="module")

TYPES = ["analysis", "osint", "reporting", "security"]


async def test_health_is_healthy_with_every_service_running(shared_api):
    response = await shared_api.get("/health")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "healthy"
    assert isinstance(body["version"], str) and body["version"]
    assert isinstance(body["uptime"], int) and body["uptime"] >= 0
    assert body["services"]
    assert set(body["services"].values()) == {"running"}, body["services"]
    assert {"nats", "event_store", "orchestrator"} <= set(body["services"])


async def test_system_info_counts_eight_agents_of_four_types(shared_api):
    response = await shared_api.get("/system/info")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == (await shared_api.get("/health")).json()["version"]
    assert body["agents"] == {"total": 8, "active": 8, "types": TYPES}
    # The catalogue's 16, none with a key here (and no local ollama answering).
    assert body["ai_providers"] == {"total": 16, "active": 0, "failed": 0, "unconfigured": 16}
    assert set(body["performance"]) == {"avg_response_time", "throughput", "success_rate"}


async def test_agent_list_has_the_seed_shape(shared_api):
    response = await shared_api.get("/agents")

    assert response.status_code == 200, response.text
    agents = response.json()["agents"]
    assert len(agents) == 8
    assert len({a["id"] for a in agents}) == 8
    assert sorted({a["type"] for a in agents}) == TYPES
    for agent in agents:
        assert {"id", "name", "status", "capabilities", "performance"} <= set(agent)
        assert agent["status"] == "active"
        assert isinstance(agent["name"], str) and agent["name"]
        assert agent["capabilities"]
        assert all(isinstance(c, str) for c in agent["capabilities"])
        assert {"tasks_completed", "success_rate", "avg_completion_time"} <= set(
            agent["performance"]
        )
    osint = next(a for a in agents if a["id"] == "osint-agent")
    assert {"web_scraping", "data_collection", "pattern_analysis"} <= set(osint["capabilities"])


async def test_agent_details_have_the_seed_shape(shared_api):
    response = await shared_api.get("/agents/security-agent")

    assert response.status_code == 200, response.text
    agent = response.json()
    assert agent["id"] == "security-agent"
    assert agent["name"] and agent["description"]
    assert agent["status"] == "active"
    capabilities = agent["capabilities"]
    assert isinstance(capabilities, dict)
    assert capabilities["vulnerability_scanning"]["description"]
    # the seed's three parameters, in its order, then those AMAS adds
    scan_parameters = capabilities["vulnerability_scanning"]["parameters"]
    assert scan_parameters[:3] == ["target", "scan_type", "depth"]
    assert "ports" in scan_parameters
    for capability in capabilities.values():
        assert isinstance(capability["description"], str)
        assert isinstance(capability["parameters"], list)
    configuration = agent["configuration"]
    assert set(configuration) == {"timeout", "max_concurrent_tasks", "priority"}
    assert configuration["timeout"] > 0
    assert configuration["max_concurrent_tasks"] >= 1
    assert configuration["priority"] == "high"


async def test_every_listed_agent_has_details(shared_api):
    for listed in (await shared_api.get("/agents")).json()["agents"]:
        details = await shared_api.get(f"/agents/{listed['id']}")
        assert details.status_code == 200, details.text
        assert details.json()["name"] == listed["name"]
        assert sorted(details.json()["capabilities"]) == sorted(listed["capabilities"])


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/api/v1/openapi.json"])
async def test_api_documentation_is_served(shared_api, path):
    response = await shared_api.get(shared_api.base_url.copy_with(path=path))

    assert response.status_code == 200, response.text


async def test_openapi_describes_the_task_and_agent_endpoints(shared_api):
    spec = (await shared_api.get(shared_api.base_url.copy_with(path="/api/v1/openapi.json"))).json()

    paths = spec["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/tasks"])
    assert {"get", "delete"} <= set(paths["/api/v1/tasks/{task_id}"])
    assert "get" in paths["/api/v1/tasks/{task_id}/results"]
    assert "put" in paths["/api/v1/agents/{agent_id}/config"]
    assert "get" in paths["/api/v1/health"]
