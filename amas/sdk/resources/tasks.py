"""client.tasks: submit, inspect, list, cancel, and follow tasks to their end."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from amas.sdk._call import Call, Flow, Req, Stream, body
from amas.sdk._endpoint import M, Resource, endpoint, flow, listing, stream
from amas.sdk._paging import Paged
from amas.sdk._parse import as_json, as_model, as_text, offset_list
from amas.sdk.models.events import Event
from amas.sdk.models.tasks import Task, TaskCancellation, TaskResults, TaskSubmitted
from amas.sdk.resources import _follow
from amas.sdk.resources._follow import Via
from amas.sdk.resources.events import Events, log_request


def _iso(moment: datetime | str | None) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else moment


class Tasks(Resource[M]):
    prefix = "/tasks"

    @endpoint("POST", "", deduplicated=True)
    def submit(
        self,
        task_type: str,
        *,
        parameters: dict[str, Any] | None = None,
        priority: str | None = None,
        callback_url: str | None = None,
        max_attempts: int | None = None,
        idempotency_key: str | None = None,
    ) -> Req[TaskSubmitted]:
        """Submit a task. Every submit carries an Idempotency-Key (a new one unless you
        give yours), so a retry after a 503 or a lost answer creates nothing more."""
        return Req(
            as_model(TaskSubmitted),
            json=body(
                task_type=task_type,
                parameters=parameters or {},
                priority=priority,
                callback_url=callback_url,
                max_attempts=max_attempts,
            ),
            idempotency_key=idempotency_key,
        )

    @endpoint("GET", "/{task_id}")
    def get(self, task_id: str) -> Req[Task]:
        return Req(as_model(Task), path_params={"task_id": task_id})

    @listing("GET", "")
    def list(
        self,
        *,
        status: str | None = None,
        agent_id: str | None = None,
        task_type: str | None = None,
        priority: str | None = None,
        from_date: datetime | str | None = None,
        to_date: datetime | str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> Paged[Task]:
        """Tasks, newest first, `limit` (up to 100) a page."""
        filters = {
            "status": status,
            "agent_id": agent_id,
            "task_type": task_type,
            "priority": priority,
            "from_date": _iso(from_date),
            "to_date": _iso(to_date),
        }
        return offset_list("tasks", Task, filters, limit=limit, offset=offset)

    @endpoint("GET", "/{task_id}/results")
    def results(self, task_id: str) -> Req[TaskResults]:
        return Req(as_model(TaskResults), path_params={"task_id": task_id})

    @endpoint("GET", "/{task_id}/results")
    def results_sarif(self, task_id: str) -> Req[dict[str, Any]]:
        """The findings as a SARIF 2.1.0 log (ConflictError until the task has ended)."""
        return Req(as_json, path_params={"task_id": task_id}, params={"format": "sarif"})

    @endpoint("GET", "/{task_id}/results")
    def results_markdown(self, task_id: str) -> Req[str]:
        """The results as a Markdown report (ConflictError until the task has ended)."""
        return Req(as_text, path_params={"task_id": task_id}, params={"format": "markdown"})

    @endpoint("DELETE", "/{task_id}")
    def cancel(self, task_id: str) -> Req[TaskCancellation]:
        """Cancel a queued or running task (ConflictError if it has already ended)."""
        return Req(as_model(TaskCancellation), path_params={"task_id": task_id})

    @flow
    def wait(
        self,
        task_id: str,
        *,
        timeout: float | None = 300.0,
        poll_interval: float = 1.0,
        via: Via = "auto",
    ) -> Flow[Task]:
        """The task once it has ended (completed, failed or cancelled); WaitTimeoutError
        after `timeout` seconds (None: no limit). `via`: "nats" (the client's NATS URL),
        "http" (polls GET /tasks/{id}, at most `poll_interval` apart), or "auto": NATS
        when it is reachable, else HTTP."""
        return _follow.wait(self._follow(task_id, timeout, poll_interval), via)

    @stream
    def events(
        self,
        task_id: str,
        *,
        timeout: float | None = None,
        poll_interval: float = 0.5,
        via: Via = "auto",
    ) -> Stream[Event]:
        """The task's events (task.*), from task.created to the one that ends it, each once
        and in order. `via`: "nats", "http" (GET /events, which needs an admin key) or "auto":
        NATS when it is reachable, else HTTP."""
        return _follow.events(self._follow(task_id, timeout, poll_interval), via)

    def _follow(self, task_id: str, timeout: float | None, poll_interval: float) -> _follow.Follow:
        def log_page(position: int) -> Call[Any]:
            # task.* as over NATS: the task's stream also holds its ml.decision events.
            req = log_request(position, stream=task_id, types=["task.*"], limit=1000)
            return Call.of(Events.list.operation, req)

        return _follow.Follow(
            task_id,
            lambda: Tasks.get.call(self, task_id),
            log_page,
            self.nats_url,
            timeout,
            poll_interval,
        )
