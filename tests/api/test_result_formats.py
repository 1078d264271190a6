"""GET /tasks/{id}/results?format=json|sarif|markdown: findings as SARIF 2.1.0, valid
against OASIS's schema, located by file and line or by URL; any result as Markdown.

The tests share one node: each makes and reads its own tasks, on files of its own.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.actors.agents.skills.samples import PLANTED, code_folder, scopes
from tests.api.support import assert_envelope, assert_valid_sarif
from tests.conftest import fresh_config
from tests.fakes.website import Reply, Website

from ..actors.agents.skills.test_vulnerability_scanning import listeners

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def scope(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The node's whole code scope; its data folder stays outside it."""
    folder = tmp_path_factory.mktemp("formats") / "code"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def shared_config(scope: Path):
    config = fresh_config(scope.parent)
    config.scopes = scopes(scope)
    return config


@pytest.fixture(scope="module")
def api(shared_api):
    return shared_api


@pytest.fixture
def code(scope: Path) -> Path:
    """A folder of the test's own inside the code scope."""
    return Path(tempfile.mkdtemp(dir=scope))


async def _done(api, wait_task, task_type: str, **parameters) -> str:
    response = await api.post("/tasks", json={"task_type": task_type, "parameters": parameters})
    assert response.status_code == 201, response.text
    task = await wait_task(response.json()["task_id"], "completed", "failed", timeout=20)
    assert task["status"] == "completed", task
    return str(task["task_id"])


async def test_code_findings_are_sarif_with_file_line_and_column(api, wait_task, code):
    task_id = await _done(api, wait_task, "code_analysis", path=str(code_folder(code)))
    findings = (await api.get(f"/tasks/{task_id}/results")).json()["results"]["findings"]

    log = assert_valid_sarif(await api.get(f"/tasks/{task_id}/results?format=sarif"))
    run = log["runs"][0]
    assert len(run["results"]) == len(findings)
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert len(rules) == len(set(rules))
    located = set()
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        located.add((result["ruleId"], physical["artifactLocation"]["uri"],
                     physical["region"]["startLine"]))  # fmt: skip
    assert {(rule, *where) for rule, where in PLANTED.items()} <= located
    assert {r["level"] for r in run["results"]} <= {"error", "warning", "note"}


async def test_scan_findings_are_sarif_located_by_host_and_port(api, wait_task):
    with listeners(2) as socks:
        ports = [s.getsockname()[1] for s in socks]
        task_id = await _done(api, wait_task, "vulnerability_scanning", target="127.0.0.1",
                              ports=ports, depth="basic")  # fmt: skip

    log = assert_valid_sarif(await api.get(f"/tasks/{task_id}/results?format=sarif"))
    names = {
        result["locations"][0]["logicalLocations"][0]["name"]
        for result in log["runs"][0]["results"]
    }
    assert names == {f"127.0.0.1:{port}" for port in ports}


async def test_markdown_is_the_report_of_one_task(api, wait_task, code):
    task_id = await _done(api, wait_task, "code_analysis", path=str(code_folder(code)))

    response = await api.get(f"/tasks/{task_id}/results", params={"format": "markdown"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/markdown")
    text = response.text
    assert text.startswith(f"# code\\_analysis {task_id}") or text.startswith("# code")
    assert "| Severity | Rule | Where | What | Remediation |" in text
    for rule in PLANTED:
        assert f"| {rule} |" in text


async def test_a_result_without_findings_is_no_sarif_but_is_markdown(api, wait_task):
    task_id = await _done(api, wait_task, "echo", message="hi")

    error = assert_envelope(
        await api.get(f"/tasks/{task_id}/results?format=sarif"), 400, "INVALID_PARAMETER"
    )
    assert error["details"]["parameter"] == "format"
    assert (await api.get(f"/tasks/{task_id}/results?format=markdown")).status_code == 200
    json_body = (await api.get(f"/tasks/{task_id}/results?format=json")).json()
    assert json_body["results"] is not None


async def test_an_unknown_format_is_422_and_an_unfinished_task_409(api, wait_task):
    task_id = await _done(api, wait_task, "echo")
    error = assert_envelope(
        await api.get(f"/tasks/{task_id}/results?format=pdf"), 422, "VALIDATION_ERROR"
    )
    assert error["details"]["errors"][0]["parameter"] == "format"

    with Website({"/": Reply("never", hold=True)}) as site:
        response = await api.post(
            "/tasks",
            json={"task_type": "web_scraping", "parameters": {"target": site.url("/"), "delay": 0}},
        )
        running = response.json()["task_id"]
        await wait_task(running, "in_progress", timeout=10)
        assert_envelope(await api.get(f"/tasks/{running}/results?format=sarif"), 409, "CONFLICT")
        await api.delete(f"/tasks/{running}")
