"""GET /tasks: filters, newest-first order and pagination, over one node's five tasks.

The tests only read: they share one node (status filters are in test_task_queue.py).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
import pytest_asyncio

pytestmark = pytest.mark.asyncio(loop_scope="module")

PRIORITIES = ["low", "high", "normal", "critical", "high"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(shared_api):
    """This module's tests all talk to the module's node."""
    return shared_api


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def finished(api):
    """Five echo tasks, submitted one after another and all completed (oldest first)."""
    tasks = []
    for n, priority in enumerate(PRIORITIES):
        response = await api.post(
            "/tasks", json={"task_type": "echo", "priority": priority, "parameters": {"n": n}}
        )
        assert response.status_code == 201, response.text
        tasks.append(response.json()["task_id"])
    async with asyncio.timeout(10):
        while True:
            if (await _list(api, status="completed"))["total"] == len(tasks):
                break
            await asyncio.sleep(0.02)
    return [(await api.get(f"/tasks/{task_id}")).json() for task_id in tasks]


async def _list(api, **params):
    response = await api.get("/tasks", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _ids(page):
    return [t["task_id"] for t in page["tasks"]]


async def test_list_shows_every_task_newest_first(api, finished):
    page = await _list(api)

    assert page["total"] == 5
    assert _ids(page) == [t["task_id"] for t in reversed(finished)]
    assert page["limit"] == 20 and page["offset"] == 0
    assert page["has_more"] is False


async def test_list_filters_by_priority(api, finished):
    page = await _list(api, priority="high")

    assert page["total"] == 2
    assert _ids(page) == [finished[4]["task_id"], finished[1]["task_id"]]
    assert {t["priority"] for t in page["tasks"]} == {"high"}
    assert (await _list(api, priority="critical"))["total"] == 1


async def test_list_filters_by_task_type(api, finished):
    assert (await _list(api, task_type="echo"))["total"] == 5
    nothing = await _list(api, task_type="security_scan")
    assert nothing["total"] == 0 and nothing["tasks"] == [] and nothing["has_more"] is False


async def test_list_filters_by_the_agent_that_ran_the_task(api, finished):
    by_agent: dict[str, set[str]] = {}
    for task in finished:
        by_agent.setdefault(next(iter(task["agents"])), set()).add(task["task_id"])

    for agent_id, task_ids in by_agent.items():
        page = await _list(api, agent_id=agent_id)
        assert page["total"] == len(task_ids)
        assert set(_ids(page)) == task_ids
    assert (await _list(api, agent_id="nobody"))["total"] == 0


async def test_list_filters_by_creation_date_range_inclusive(api, finished):
    second, fourth = finished[1]["created_at"], finished[3]["created_at"]

    since = await _list(api, from_date=second)
    until = await _list(api, to_date=second)
    between = await _list(api, from_date=second, to_date=fourth)

    assert _ids(since) == [t["task_id"] for t in reversed(finished[1:])]
    assert _ids(until) == [finished[1]["task_id"], finished[0]["task_id"]]
    assert _ids(between) == [t["task_id"] for t in reversed(finished[1:4])]


async def test_list_date_filters_honour_the_offset_of_the_given_time(api, finished):
    second = datetime.fromisoformat(finished[1]["created_at"])
    in_paris = second.astimezone(timezone(timedelta(hours=2))).isoformat()
    naive_utc = second.replace(tzinfo=None).isoformat()

    assert _ids(await _list(api, from_date=in_paris)) == _ids(await _list(api, from_date=second))
    assert _ids(await _list(api, to_date=naive_utc)) == [
        finished[1]["task_id"],
        finished[0]["task_id"],
    ]
    tomorrow = (second + timedelta(days=1)).isoformat()
    assert (await _list(api, from_date=tomorrow))["total"] == 0


async def test_list_pages_through_all_tasks_with_limit_and_offset(api, finished):
    newest_first = [t["task_id"] for t in reversed(finished)]

    first = await _list(api, limit=2)
    second = await _list(api, limit=2, offset=2)
    last = await _list(api, limit=2, offset=4)
    beyond = await _list(api, limit=2, offset=10)

    assert [p["total"] for p in (first, second, last, beyond)] == [5, 5, 5, 5]
    assert _ids(first) + _ids(second) + _ids(last) == newest_first
    assert [p["has_more"] for p in (first, second, last)] == [True, True, False]
    assert beyond["tasks"] == [] and beyond["has_more"] is False
    assert (first["limit"], second["offset"]) == (2, 2)
    filtered = await _list(api, priority="high", limit=1)
    assert filtered["total"] == 2 and filtered["has_more"] is True
    assert _ids(filtered) == [finished[4]["task_id"]]


async def test_list_accepts_the_largest_page(api, finished):
    page = await _list(api, limit=100)
    assert page["limit"] == 100 and len(page["tasks"]) == 5
