"""Tasks made through the API for the console's tests to look at."""

from __future__ import annotations

import time
from typing import Any

import httpx

WAIT = 20.0


def submit(api: httpx.Client, task_type: str, **parameters: Any) -> str:
    response = api.post("/tasks", json={"task_type": task_type, "parameters": parameters})
    assert response.status_code == 201, response.text
    task_id: str = response.json()["task_id"]
    return task_id


def wait_task(api: httpx.Client, task_id: str) -> dict[str, Any]:
    """The task once it completed (bounded polling of the API: the test's, not the console's)."""
    deadline = time.monotonic() + WAIT
    while (task := api.get(f"/tasks/{task_id}").json())["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, task
        time.sleep(0.05)
    assert task["status"] == "completed", task
    return dict(task)
