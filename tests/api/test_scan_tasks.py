"""The security agent's scan over the API, on a node whose scan scope is 127.0.0.1 only:
found what listens, refused what is outside, 400 for what is malformed.

The tests share one node: each scans listeners of its own and reads its own tasks only.
"""

from __future__ import annotations

import dataclasses
import socket

import pytest

from actors.agents.scope import CodeScope, NetworkScope, Scopes
from amas.runtime.node import NodeConfig
from tests.api.support import assert_envelope
from tests.conftest import fresh_config

from ..actors.agents.skills.test_vulnerability_scanning import closed_port, listeners

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def shared_config(tmp_path_factory: pytest.TempPathFactory) -> NodeConfig:
    root = tmp_path_factory.mktemp("node")
    scopes = Scopes(NetworkScope.parse("127.0.0.1/32,localhost"), CodeScope.parse(None, root))
    return dataclasses.replace(fresh_config(root), scopes=scopes)


@pytest.fixture(scope="module")
def api(shared_api):
    return shared_api


async def test_a_scan_finds_the_open_ports_and_no_closed_one(api, wait_task):
    with listeners(3) as socks:
        open_ports = sorted(s.getsockname()[1] for s in socks)
        closed = closed_port()
        response = await api.post(
            "/tasks",
            json={
                "task_type": "vulnerability_scanning",
                "parameters": {"target": "127.0.0.1", "ports": [*open_ports, closed]},
            },
        )
        assert response.status_code == 201, response.text
        assert all(a.startswith("security-agent") for a in response.json()["assigned_agents"])
        task = await wait_task(response.json()["task_id"], "completed", "failed", timeout=10)

    assert task["status"] == "completed", task
    results = (await api.get(f"/tasks/{task['task_id']}/results")).json()["results"]
    assert [p["port"] for p in results["open_ports"]] == open_ports
    assert results["ports_scanned"] == 4
    assert len(results["findings"]) == 3


async def test_a_target_outside_the_scope_is_403_and_sees_no_connection(api):
    outside = socket.socket()
    try:
        outside.bind(("127.0.0.2", 0))
    except OSError:
        pytest.skip("127.0.0.2 is not a local address here")
    outside.listen(16)
    outside.setblocking(False)
    try:
        port = outside.getsockname()[1]
        response = await api.post(
            "/tasks",
            json={
                "task_type": "vulnerability_scanning",
                "parameters": {"target": "127.0.0.2", "ports": [port]},
            },
        )

        error = assert_envelope(response, 403, "FORBIDDEN")
        assert error["details"]["parameter"] == "target"
        assert "AMAS_SCAN_SCOPE" in error["message"]
        with pytest.raises(BlockingIOError):
            outside.accept()  # nobody knocked
    finally:
        outside.close()


@pytest.mark.parametrize(
    ("parameters", "name"),
    [
        ({}, "target"),
        ({"target": "127.0.0.1", "ports": ["1-99999"]}, "ports"),
        ({"target": "127.0.0.1", "scan_type": "everything"}, "scan_type"),
    ],
)
async def test_bad_scan_parameters_are_400_naming_the_parameter(api, parameters, name):
    response = await api.post(
        "/tasks", json={"task_type": "vulnerability_scanning", "parameters": parameters}
    )
    error = assert_envelope(response, 400, "INVALID_PARAMETER")
    assert error["details"]["parameter"] == name


async def test_threat_analysis_ranks_the_findings_of_an_earlier_scan(api, wait_task):
    with listeners(2) as socks:
        ports = sorted(s.getsockname()[1] for s in socks)
        scan = await api.post(
            "/tasks",
            json={
                "task_type": "vulnerability_scanning",
                "parameters": {"target": "127.0.0.1", "ports": ports, "depth": "basic"},
            },
        )
        scan_id = scan.json()["task_id"]
        await wait_task(scan_id, "completed", timeout=10)

    response = await api.post(
        "/tasks",
        json={"task_type": "threat_analysis", "parameters": {"data": {"task_ids": [scan_id]}}},
    )
    assert response.status_code == 201, response.text
    task = await wait_task(response.json()["task_id"], "completed", "failed", timeout=10)
    assert task["status"] == "completed", task
    results = (await api.get(f"/tasks/{task['task_id']}/results")).json()["results"]
    assert results["sources"] == {scan_id: "2 findings"}
    assert sorted(t["target"] for t in results["threats"]) == [f"127.0.0.1:{p}" for p in ports]
    assert {t["source_task"] for t in results["threats"]} == {scan_id}


async def test_a_report_of_a_scan_over_the_api(api, wait_task):
    with listeners(1) as socks:
        port = socks[0].getsockname()[1]
        scan = await api.post(
            "/tasks",
            json={
                "task_type": "vulnerability_scanning",
                "parameters": {"target": "127.0.0.1", "ports": [port], "depth": "basic"},
            },
        )
        scan_id = scan.json()["task_id"]
        await wait_task(scan_id, "completed", timeout=10)

    response = await api.post(
        "/tasks",
        json={
            "task_type": "report_generation",
            "parameters": {"task_ids": [scan_id], "format": "markdown"},
        },
    )
    assert response.status_code == 201, response.text
    assert all(a.startswith("reporting-agent") for a in response.json()["assigned_agents"])
    task = await wait_task(response.json()["task_id"], "completed", "failed", timeout=10)
    report = (await api.get(f"/tasks/{task['task_id']}/results")).json()["results"]
    assert report["findings"] == 1
    assert f"127.0.0.1:{port}" in report["content"]
