"""`kill -9` of `amas serve`: after a restart every acknowledged task is there, queued ones
run, running ones are requeued with their attempt counted (or failed once attempts run
out), and every committed event reaches the JetStream stream. Real processes throughout."""

from __future__ import annotations

import json
import secrets
import signal
from pathlib import Path
from typing import Any

import httpx
import nats

from amas.runtime.relay import STREAM
from events.store import SQLiteEventStore
from tests.served import clean_env, serve_process, wait_until


def _client(base: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=10)


def _submit(api: httpx.Client, **body: Any) -> str:
    response = api.post("/tasks", json={"task_type": "echo", **body})
    assert response.status_code == 201, response.text
    task_id: str = response.json()["task_id"]
    return task_id


def _status(api: httpx.Client, task_id: str) -> dict[str, Any]:
    response = api.get(f"/tasks/{task_id}")
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


async def _log(data_dir: Path) -> list[Any]:
    store = await SQLiteEventStore.open(data_dir / "events.db")
    try:
        return await store.read_all(1, 1_000_000)
    finally:
        await store.close()


async def test_a_killed_node_recovers_every_acknowledged_task(tmp_path: Path) -> None:
    key = secrets.token_urlsafe(16)
    env = clean_env(AMAS_API_KEY=key)
    long = {"parameters": {"delay": 60, "steps": 2}}
    with serve_process(tmp_path, env=env) as node, _client(node.base, key) as api:
        done = [_submit(api) for _ in range(5)]
        running = [_submit(api, **long) for _ in range(3)]
        last_try = _submit(api, max_attempts=1, **long)
        wait_until(
            lambda: all(_status(api, t)["status"] == "in_progress" for t in [*running, last_try]),
            "the long tasks run",
        )
        wait_until(
            lambda: all(_status(api, t)["status"] == "completed" for t in done),
            "the short tasks complete",
        )
        # More than the 40 agent slots: some are still queued at the kill.
        queued = [_submit(api, **long) for _ in range(40)]
        node.process.send_signal(signal.SIGKILL)
        node.process.wait(timeout=10)

    with serve_process(tmp_path, env=env) as node, _client(node.base, key) as api:
        for task_id in [*done, *running, last_try, *queued]:
            _status(api, task_id)  # every acknowledged task is there
        assert all(_status(api, t)["status"] == "completed" for t in done)
        failed = _status(api, last_try)
        assert failed["status"] == "failed" and failed["error"]["reason"] == "max_attempts"

        def requeued_and_running() -> bool:
            states = [_status(api, t) for t in running]
            return all(s["status"] == "in_progress" and s["attempt"] == 2 for s in states)

        wait_until(requeued_and_running, "the interrupted tasks run again, as attempt 2")
        statuses = {_status(api, t)["status"] for t in queued}
        assert statuses <= {"queued", "in_progress"}

        log = await _log(node.data_dir)
        requeued = {e.data.task_id for e in log if e.type == "task.requeued"}
        assert set(running) <= requeued <= {*running, *queued}
        assert all(
            e.data.reason == "node restarted" and e.data.attempt == 1
            for e in log
            if e.type == "task.requeued"
        )

        for task_id in [*running, *queued]:  # free the slots for new work
            assert api.delete(f"/tasks/{task_id}").status_code == 200
        short = _submit(api)
        wait_until(lambda: _status(api, short)["status"] == "completed", "new work runs")
        log = await _log(node.data_dir)

        # Everything committed, before and after the kill, is in the stream.
        nc = await nats.connect(json.loads((node.data_dir / "node.json").read_text())["nats"])
        try:
            js = nc.jetstream()
            public = {e.event_id for e in log if e.type.startswith(("task.", "agent."))}

            async def ids_in_stream() -> set[str]:
                seen: set[str] = set()
                sub = await js.subscribe(">", stream=STREAM, ordered_consumer=True)
                try:
                    while True:
                        try:
                            msg = await sub.next_msg(timeout=1.0)
                        except nats.errors.TimeoutError:
                            return seen
                        seen.add(json.loads(msg.data)["event_id"])
                finally:
                    await sub.unsubscribe()

            assert public - await ids_in_stream() == set()
        finally:
            await nc.close()
