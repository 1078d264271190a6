"""Composite tasks' decisions (actors/tasks/parts.py), without a node: a part's events
move the composite as the seed shows it (per agent), and it ends when its parts have."""

from __future__ import annotations

from typing import Any

from actors.agents.skills.composite import Composite, Outcome, Part
from actors.agents.skills.security_scan import COMPOSITE, SecurityScanParams
from actors.agents.skills.security_scan.merge import security_score
from actors.tasks.parts import PartView, cancel_parts, changed, follow
from events.types import (
    TaskCompleted,
    TaskFailed,
    TaskProgressed,
    TaskRequeued,
    TaskStarted,
)
from events.vocabulary import TaskStatus


def _merge(params: Any, outcomes: dict[str, Outcome]) -> dict[str, Any]:
    return {name: o.status for name, o in outcomes.items()}


PAIR: Composite[Any] = Composite(
    "pair",
    SecurityScanParams,
    lambda p: {
        "a": Part(task_type="echo", parameters={}),
        "b": Part(task_type="echo", parameters={}),
    },
    _merge,
)


def _views() -> dict[str, PartView]:
    return {
        "t-a": PartView(name="a", task_id="t-a", task_type="echo"),
        "t-b": PartView(name="b", task_id="t-b", task_type="echo"),
    }


def _changed(views: dict[str, PartView], status: TaskStatus, agent: str | None) -> list[Any]:
    return changed("t", status, {"target": "x"}, views, PAIR, agent)


def test_the_first_part_to_start_starts_the_composite_without_an_agent() -> None:
    views = _views()
    follow(views["t-a"], TaskStarted(task_id="t-a", agent_id="agent-1", attempt=1))
    events = _changed(views, TaskStatus.QUEUED, "agent-1")

    assert events[0] == TaskStarted(task_id="t", agent_id=None, attempt=1)
    progress = events[1]
    assert isinstance(progress, TaskProgressed)
    assert (progress.agent_id, progress.agent_status, progress.agent_progress) == (
        "agent-1", "working", 0,
    )  # fmt: skip


def test_progress_is_per_agent_and_overall_the_mean_of_the_parts() -> None:
    views = _views()
    follow(views["t-a"], TaskStarted(task_id="t-a", agent_id="agent-1"))
    follow(views["t-a"], TaskProgressed(task_id="t-a", agent_id="agent-1", progress=80))
    follow(views["t-b"], TaskStarted(task_id="t-b", agent_id="agent-2"))
    follow(views["t-b"], TaskProgressed(task_id="t-b", agent_id="agent-2", progress=50))
    [event] = _changed(views, TaskStatus.IN_PROGRESS, "agent-2")

    assert isinstance(event, TaskProgressed)
    assert (event.progress, event.agent_id, event.agent_progress) == (65, "agent-2", 50)


def test_the_composite_completes_with_the_merge_once_every_part_has_ended() -> None:
    views = _views()
    follow(views["t-a"], TaskStarted(task_id="t-a", agent_id="agent-1"))
    follow(views["t-a"], TaskCompleted(task_id="t-a", agent_id="agent-1", result={"x": 1}))
    assert not any(
        isinstance(e, TaskCompleted) for e in _changed(views, TaskStatus.IN_PROGRESS, "agent-1")
    )

    follow(views["t-b"], TaskFailed(task_id="t-b", reason="timeout", error="slow"))
    events = _changed(views, TaskStatus.IN_PROGRESS, None)
    assert events == [
        TaskCompleted(task_id="t", agent_id=None, result={"a": "completed", "b": "failed"})
    ]
    assert _changed(views, TaskStatus.COMPLETED, None) == []  # ended: nothing more


def test_a_composite_whose_parts_all_failed_fails_naming_each() -> None:
    views = _views()
    follow(views["t-a"], TaskFailed(task_id="t-a", reason="error", error="boom"))
    follow(views["t-b"], TaskFailed(task_id="t-b", reason="timeout"))
    [failed] = _changed(views, TaskStatus.IN_PROGRESS, None)

    assert isinstance(failed, TaskFailed)
    assert failed.reason == "parts_failed"
    assert "a: error: boom" in failed.error and "b: timeout" in failed.error


def test_a_requeued_part_shows_its_old_agent_abandoned() -> None:
    views = _views()
    follow(views["t-a"], TaskStarted(task_id="t-a", agent_id="agent-1"))
    left = follow(views["t-a"], TaskRequeued(task_id="t-a", attempt=1, reason="crash"))
    events = changed("t", TaskStatus.IN_PROGRESS, {}, views, PAIR, None, abandoned_by=left)

    [abandoned] = events
    assert isinstance(abandoned, TaskProgressed)
    assert (abandoned.agent_id, abandoned.agent_status) == ("agent-1", "abandoned")


def test_cancelling_cancels_only_the_parts_that_have_not_ended() -> None:
    views = _views()
    follow(views["t-a"], TaskCompleted(task_id="t-a", agent_id="agent-1", result={}))
    assert list(cancel_parts(views)) == ["t-b"]


def test_security_scan_plans_its_parts_from_the_target() -> None:
    parts = COMPOSITE.parts({"target": "https://localhost:8123/app", "include_subdomains": True})
    assert parts["security"].parameters["target"] == "localhost"
    assert 8123 in parts["security"].parameters["ports"]  # the URL's port is scanned too
    assert parts["osint"].parameters["target"] == "https://localhost:8123/app"
    assert parts["subdomains"].parameters == {"target": "localhost"}
    assert "subdomains" not in COMPOSITE.parts({"target": "127.0.0.1", "include_subdomains": True})


def _finding(rule: str, severity: str, kind: str = "exposed_service") -> dict[str, Any]:
    return {"rule_id": rule, "severity": severity, "type": kind}


def test_the_score_is_the_worst_observatory_score_minus_the_documented_deductions() -> None:
    scan = {
        "http": [
            {"url": "http://h:80/", "observatory": {"score": 135, "grade": "A+"}},
            {"url": "http://h:8080/", "observatory": {"score": 70, "grade": "B"}},
        ],
        "findings": [
            _finding("exposed-redis", "high"),
            _finding("exposed-redis", "high"),  # the same rule counts once
            _finding("tls-self-signed", "medium"),
            _finding("csp-not-implemented", "medium", "http_header"),  # in the 70 already
            _finding("open-port", "info"),
        ],
    }
    score = security_score(scan)
    assert score["observatory"]["url"] == "http://h:8080/"
    assert score["score"] == 70 - 20 - 10
    assert security_score({"http": [], "findings": [_finding("x", "critical")] * 3})["score"] == 60
    many = [_finding(f"r{i}", "critical") for i in range(4)]
    assert security_score({"http": [], "findings": many})["score"] == 0
