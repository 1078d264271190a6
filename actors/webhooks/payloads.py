"""The `data` of a delivery: an event's facts, shaped as the seed shows them.

A task event carries the task's `status` in the seed's words; `task.completed` carries
a `results_summary` (for a security scan `security_score` and `vulnerabilities_found`;
otherwise the result's top-level numbers, strings and booleans) and `results_url`
instead of the whole result, which can run to megabytes (a crawl): a receiver that
wants it fetches it. Every other event is delivered with its data as recorded.
"""

from __future__ import annotations

from typing import Any

import msgspec

from events.envelope import Event

_STATUS = {
    "task.created": "queued",
    "task.started": "in_progress",
    "task.progress": "in_progress",
    "task.completed": "completed",
    "task.failed": "failed",
    "task.cancelled": "cancelled",
}


def results_summary(result: dict[str, Any]) -> dict[str, Any]:
    scan = result.get("security_scan")
    if isinstance(scan, dict):
        vulnerabilities = scan.get("vulnerabilities")
        return {
            "security_score": scan.get("security_score"),
            "vulnerabilities_found": len(vulnerabilities)
            if isinstance(vulnerabilities, list)
            else None,
        }
    return {key: value for key, value in result.items() if _small(value)}


def _small(value: Any) -> bool:
    return isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 200)


def delivery_data(event: Event) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(event.data)
    status = _STATUS.get(event.type)
    if status is None:
        return data
    data["status"] = status
    if event.type == "task.completed":
        result = data.pop("result", None)
        data["results_summary"] = results_summary(result) if isinstance(result, dict) else {}
        data["results_url"] = f"/api/v1/tasks/{data['task_id']}/results"
    return data
