"""Models read the node's JSON leniently where it may grow and strictly where it must
not drift: unknown fields are kept, a missing or mistyped declared one is an error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from amas.sdk import ResponseValidationError, Task
from amas.sdk.models import Agent, MetricsHistory

TASK = {
    "task_id": "task-1",
    "task_type": "echo",
    "status": "in_progress",
    "progress": 40,
    "created_at": "2026-11-30T09:19:10.269136Z",
    "agents": {"security-agent": {"status": "working", "progress": 40}},
    "error": None,
}


def test_a_field_the_node_added_later_is_kept_in_extra():
    task = Task.from_dict({**TASK, "shard": 3, "labels": ["a"]})
    assert task.extra == {"shard": 3, "labels": ["a"]}
    assert task.to_dict()["shard"] == 3 and task.to_dict()["task_id"] == "task-1"


def test_nested_models_and_times_are_typed():
    task = Task.from_dict(TASK)
    assert task.created_at == datetime(2026, 11, 30, 9, 19, 10, 269136, tzinfo=UTC)
    assert task.agents["security-agent"].progress == 40 and not task.finished
    assert task.to_dict()["created_at"] == "2026-11-30T09:19:10.269136Z"
    history = MetricsHistory.from_dict(
        {"metric": "cpu_usage", "period": "1h", "data_points": [{"timestamp": TASK["created_at"],
                                                                  "value": 3}]}
    )  # fmt: skip
    assert history.data_points[0].value == 3.0 and isinstance(history.data_points[0].value, float)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({k: v for k, v in TASK.items() if k != "status"}, "no 'status'"),
        ({**TASK, "progress": "forty"}, "Task.progress"),
        ({**TASK, "task_id": None}, "Task.task_id"),
        ({**TASK, "agents": {"a": {"progress": 1}}}, "no 'status'"),
        ({**TASK, "created_at": "yesterday"}, "Task.created_at"),
    ],
)
def test_a_missing_or_mistyped_field_is_a_response_validation_error(data, where):
    with pytest.raises(ResponseValidationError, match=where):
        Task.from_dict(data)


def test_a_detail_keeps_its_capabilities_by_name():
    agent = Agent.from_dict(
        {"id": "a", "name": "A", "type": "t", "status": "active",
         "capabilities": {"scan": {"description": "d", "parameters": ["target"]}}}
    )  # fmt: skip
    assert agent.capabilities["scan"].parameters == ["target"]
