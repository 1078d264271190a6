"""The analysis agent's task types over HTTP, on a real node whose code scope is a folder
of this module's: each is answered with its result, a bad parameter is a 400 naming it,
a path outside the scope a 403.

The tests share one node (each analyses files of its own and reads its own task only).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest

from actors.agents.skills import threads
from tests.actors.agents.skills.samples import (
    COMPLEX,
    OUTLIER_ROWS,
    PLANTED,
    code_folder,
    outlier_csv,
    scopes,
)
from tests.api.support import assert_envelope
from tests.conftest import fresh_config

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The node's whole code scope; its data folder stays outside it."""
    folder = tmp_path_factory.mktemp("analysis") / "code"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def shared_config(code: Path):
    config = fresh_config(code.parent)
    config.scopes = scopes(code)
    return config


@pytest.fixture(scope="module")
def api(shared_api):
    return shared_api


@pytest.fixture
def nats_client(shared_nats_client):
    return shared_nats_client


@pytest.fixture
def folder(code: Path) -> Path:
    """A folder of the test's own inside the code scope."""
    return Path(tempfile.mkdtemp(dir=code))


async def run(api, wait_task, task_type: str, **parameters) -> dict:
    response = await api.post("/tasks", json={"task_type": task_type, "parameters": parameters})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body["assigned_agents"]) == {"analysis-agent", "analysis-agent-2"}
    task = await wait_task(body["task_id"], "completed", "failed")
    assert task["status"] == "completed", task
    results = await api.get(f"/tasks/{body['task_id']}/results")
    assert results.status_code == 200, results.text
    return results.json()["results"]


async def test_code_analysis_task_finds_the_planted_findings(api, wait_task, folder):
    result = await run(api, wait_task, "code_analysis", path=str(code_folder(folder)))

    security = {(f["rule_id"], f["file"], f["line"]) for f in result["findings"]}
    assert {(rule, *where) for rule, where in PLANTED.items()} <= security
    file, name, complexity = COMPLEX
    assert any(
        f["kind"] == "complexity" and f["file"] == file and f["score"] == complexity
        for f in result["findings"]
        if name in f["message"]
    )
    assert result["summary"]["files_analyzed"] == 4
    assert result["skipped"] == [{"file": "app/broken.py", "reason": "syntax error at line 1"}]


async def test_file_analysis_task_answers_hashes_type_and_strings(api, wait_task, folder):
    path = folder / "logo.png"
    content = b"\x89PNG\r\n\x1a\n" + bytes(32) + b"made by AMAS" + bytes(8)
    path.write_bytes(content)

    result = await run(api, wait_task, "file_analysis", path=str(path))

    assert result["sha256"] == hashlib.sha256(content).hexdigest()
    assert (result["mime"], result["extension"], result["size"]) == ("image/png", "png", 60)
    assert [s["text"] for s in result["strings"]] == ["made by AMAS"]


async def test_data_analysis_task_finds_the_planted_outliers(api, wait_task, folder):
    path = outlier_csv(folder / "latency.csv")

    from_file = await run(api, wait_task, "data_analysis", path=str(path))
    inline = await run(
        api,
        wait_task,
        "data_analysis",
        data=[{"v": 10 + i % 3} for i in range(30)] + [{"v": 90}],
        method="zscore",
    )

    anomalies = from_file["fields"]["latency"]["anomalies"]
    assert {a["row"]: a["value"] for a in anomalies} == OUTLIER_ROWS
    assert [a["row"] for a in inline["fields"]["v"]["anomalies"]] == [30]


async def test_progress_of_an_analysis_reaches_subscribers_before_its_completion(
    api, tap, folder, monkeypatch
):
    monkeypatch.setattr(threads, "REPORT_EVERY", 0.0)  # a small folder takes milliseconds
    events = await tap("task.*")
    response = await api.post(
        "/tasks",
        json={"task_type": "code_analysis", "parameters": {"path": str(code_folder(folder))}},
    )
    task_id = response.json()["task_id"]

    await events.wait_for_type("task.completed", task_id=task_id)

    life = [e["type"] for e in events.of("task_id", task_id)]
    assert life[:2] == ["task.created", "task.started"] and life[-1] == "task.completed"
    assert life.count("task.progress") >= 2


@pytest.mark.parametrize(
    ("task_type", "parameters", "named"),
    [
        ("code_analysis", {}, "path"),
        ("code_analysis", {"path": "{code}", "min_severity": "critical"}, "min_severity"),
        ("code_analysis", {"path": "{code}/nope"}, "path"),
        ("file_analysis", {"path": "{code}", "max_bytes": 0}, "max_bytes"),
        ("file_analysis", {"path": "{code}"}, "path"),  # a folder
        ("data_analysis", {"data": [{"a": 1}], "method": "median"}, "method"),
        ("data_analysis", {}, "data"),
        ("data_analysis", {"data": [{"a": 1}], "fields": ["b"]}, "fields"),
    ],
)
async def test_bad_parameter_is_a_400_naming_it(api, code, task_type, parameters, named):
    parameters = {k: v.format(code=code) if k == "path" else v for k, v in parameters.items()}

    response = await api.post("/tasks", json={"task_type": task_type, "parameters": parameters})

    error = assert_envelope(response, 400, "INVALID_PARAMETER")
    assert error["details"]["parameter"] == named


@pytest.mark.parametrize(
    ("task_type", "where"),
    [
        ("code_analysis", "/etc"),
        ("code_analysis", "{code}/.."),
        ("code_analysis", "{code}/out"),  # a symlink to a folder outside
        ("file_analysis", "/etc/passwd"),
        ("file_analysis", "{code}/../secret.txt"),
        ("data_analysis", "{code}/../secret.txt"),
    ],
)
async def test_path_outside_the_code_scope_is_a_403(api, code, task_type, where):
    (code.parent / "secret.txt").write_text("a\n1\n")
    if not (code / "out").is_symlink():  # made by the first of these tests
        (code / "out").symlink_to(code.parent)

    response = await api.post(
        "/tasks",
        json={"task_type": task_type, "parameters": {"path": where.format(code=code)}},
    )

    error = assert_envelope(response, 403, "FORBIDDEN")
    assert error["details"]["parameter"] == "path"
    assert "AMAS_CODE_SCOPE" in error["message"]


async def test_analysis_agents_offer_the_three_capabilities(api):
    agent = (await api.get("/agents/analysis-agent")).json()

    assert set(agent["capabilities"]) == {"code_analysis", "data_analysis", "file_analysis"}
    assert agent["capabilities"]["file_analysis"]["parameters"][0] == "path"
