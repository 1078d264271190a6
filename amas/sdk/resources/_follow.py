"""Following a task to its end: its event stream, and `wait`.

    NATS   JetStream's AMAS_EVENTS from the task's creation on (`_nats.py`); used when
           the client has a NATS URL and the `nats` package. If the task has ended and
           NATS never shows the end (its events aged out of the stream), HTTP takes over.
    HTTP   the event log, GET /events?stream=<task id> (an admin key), polled; `wait`
           polls GET /tasks/{id} instead (any key with `read`).

Either way each event comes once, in version order, and the stream ends with the task.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from amas.sdk._call import ENDED, TIMED_OUT, Call, Emit, Flow, Next, Open, Sleep, Step, Stream
from amas.sdk._paging import Page
from amas.sdk._sources import NatsSpec
from amas.sdk.errors import EventStreamUnavailable, WaitTimeoutError
from amas.sdk.models.events import Event
from amas.sdk.models.tasks import Task

Via = Literal["auto", "nats", "http"]

_SUBJECT, _STREAM = "task.*", "AMAS_EVENTS"
_CLOCK_SLACK = timedelta(seconds=2)
"""Start the replay a little before the task's creation: the node's clock stamped it,
the NATS server's stamps the stream."""
_QUIET_CHECKS = 3
"""Idle seconds on NATS, with the task already ended, before HTTP takes over."""


class Follow:
    def __init__(
        self,
        task_id: str,
        get_task: Callable[[], Call[Task]],
        log_page: Callable[[int], Call[Page[Event]]],
        nats_url: str | None,
        timeout: float | None,
        poll_interval: float,
    ) -> None:
        self.task_id, self.get_task, self.log_page = task_id, get_task, log_page
        self.nats_url, self.poll_interval = nats_url, poll_interval
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.version = 0
        self.status: str | None = None

    def fresh(self, event: Event) -> bool:
        """Is this the task's and not yet seen (a relay may send an event twice)?"""
        if event.stream != self.task_id or event.version <= self.version:
            return False
        self.version = event.version
        return True

    def left(self, most: float) -> float:
        """At most `most` seconds, and never past the deadline (WaitTimeoutError there)."""
        if self.deadline is None:
            return most
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeoutError(
                f"task {self.task_id} has not ended in time (last seen: {self.status})",
                task_id=self.task_id,
                status=self.status,
            )
        return min(most, left)

    def task(self) -> Generator[Step, Any, Task]:
        task: Task = yield self.get_task()
        self.status = task.status
        return task

    def over_nats(self, task: Task) -> Generator[Step | Emit[Event], Any, bool]:
        """Emit the task's events from NATS; True once it ended, False if HTTP must
        take over (the end never came while the task had ended)."""
        if not self.nats_url:
            raise EventStreamUnavailable("no NATS URL: give Client(nats_url=...) or AMAS_NATS_URL")
        start = (task.created_at or datetime.now(UTC)) - _CLOCK_SLACK
        handle = yield Open(NatsSpec(self.nats_url, _SUBJECT, _STREAM, start))
        quiet = 0
        while True:
            item = yield Next(handle, self.left(1.0))
            if item is ENDED:
                return False
            if item is TIMED_OUT:
                latest = yield from self.task()
                quiet = quiet + 1 if latest.finished else 0
                if quiet >= _QUIET_CHECKS:
                    return False
                continue
            if item.get("stream") != self.task_id:
                continue  # another task's: most of what task.* carries
            event = Event.from_dict(item)
            if self.fresh(event):
                yield Emit(event)
                if event.ends_task:
                    return True

    def over_http(self) -> Stream[Event]:
        position = 1
        while True:
            page: Page[Event] = yield self.log_page(position)
            for event in page.items:
                if self.fresh(event):
                    yield Emit(event)
                    if event.ends_task:
                        return
            if page.next_cursor is not None:
                position = page.next_cursor
                continue
            position = int(page.raw.get("next_position", position))
            yield Sleep(self.left(self.poll_interval))


def events(follow: Follow, via: Via) -> Stream[Event]:
    task = yield from follow.task()
    if via != "http":
        try:
            if (yield from follow.over_nats(task)):
                return
        except EventStreamUnavailable:
            if via == "nats":
                raise
        if via == "nats":
            raise EventStreamUnavailable(f"task {follow.task_id} ended, but NATS never showed it")
    yield from follow.over_http()


def wait(follow: Follow, via: Via) -> Flow[Task]:
    task = yield from follow.task()
    if task.finished:
        return task
    delay = min(0.1, follow.poll_interval)
    if via != "http":
        try:
            if (yield from follow.over_nats(task)):
                delay = 0.02  # the end is in the log: the read model has it in a moment
        except EventStreamUnavailable:
            if via == "nats":
                raise
    while not task.finished:
        yield Sleep(follow.left(delay))
        delay = min(delay * 1.5, follow.poll_interval)
        task = yield from follow.task()
    return task
