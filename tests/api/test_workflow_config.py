"""GET|PUT /workflows/config: the seed's choices, and operator defaults that are events
(they survive a restart) and that a trigger omitting a field takes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from actors.agents.scope import CodeScope, NetworkScope, Scopes
from amas.runtime.node import Node
from tests.api.support import assert_envelope, make_key
from tests.conftest import fresh_config, serving
from tests.fixtures.planted_repo import make_repo


async def test_defaults_are_events_a_trigger_takes_and_a_restart_keeps(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "code" / "shop")
    config = fresh_config(tmp_path)
    config.scopes = Scopes(
        NetworkScope.parse("127.0.0.1/32"), CodeScope.parse(None, tmp_path / "code")
    )
    async with Node(config) as node, serving(node) as api:
        shown = (await api.get("/workflows/config")).json()
        assert set(shown) == {"orchestrator", "self_improver", "issue_responder"}
        assert "security_audit" in shown["orchestrator"]["modes"]
        assert shown["issue_responder"]["languages"][0] == "auto"
        assert shown["orchestrator"]["settings"] == {}

        reader = await make_key(api, ["read", "write"])
        refused = await api.put("/workflows/config", json={"orchestrator": {"timeout": 60}},
                                headers={"X-API-Key": reader["api_key"]})  # fmt: skip
        assert_envelope(refused, 403, "FORBIDDEN")
        bad = await api.put("/workflows/config", json={"self_improver": {"default_mode": "yolo"}})
        assert_envelope(bad, 400, "INVALID_CONFIGURATION")

        changed = await api.put(
            "/workflows/config",
            json={"orchestrator": {"default_mode": "security_audit", "timeout": 600}},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["config"]["orchestrator"]["settings"] == {
            "default_mode": "security_audit", "timeout": 600,
        }  # fmt: skip
        triggered = await api.post(
            "/workflows/orchestrator/trigger", json={"repository": str(repo.path)}
        )
        workflow_id = triggered.json()["workflow_id"]
        for _ in range(400):
            status = (await api.get(f"/workflows/orchestrator/{workflow_id}/status")).json()
            if status["status"] != "running":
                break
            await asyncio.sleep(0.05)
    assert status["status"] == "completed", status
    assert status["results"]["analysis_results"]["components"] == ["security"]

    async with Node(config) as node, serving(node) as api:
        kept = (await api.get("/workflows/config")).json()
    assert kept["orchestrator"]["settings"]["default_mode"] == "security_audit"
