"""Who gets which event: the deliverer's picture of webhooks and task callbacks, and
the deliveries each committed event calls for (pure: no I/O here).

* A **webhook** gets the events it subscribes to (names or prefixes such as `task.*`),
  while it is enabled; its `webhook.test` pings and redelivery requests go to it alone.
  No webhook gets `webhook.*` events otherwise: a `*` subscription would feed on its
  own delivery records.
* A task's **callback** (`callback_url` on `POST /tasks`) gets that task's six seed
  events (`task.created` ... `task.cancelled`), signed with its API key's callback
  secret; it ends with the task (retries in flight go on).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from events.envelope import Event
from events.types import (
    TaskCreated,
    WebhookCreated,
    WebhookDeleted,
    WebhookRedeliveryRequested,
    WebhookTested,
    WebhookUpdated,
)

TASK_EVENTS = frozenset(
    {"task.created", "task.started", "task.progress", "task.completed", "task.failed",
     "task.cancelled"}
)  # fmt: skip
"""What a callback gets: the seed's task events."""
_TERMINAL = frozenset({"task.completed", "task.failed", "task.cancelled"})
PER_ENDPOINT = 8
"""Attempts in flight at once to one webhook or callback."""


def callback_id(task_id: str) -> str:
    """The delivery stream name part of a task's callback (`delivery-cb-<task id>`)."""
    return f"cb-{task_id}"


def callback_secret_id(api_key_id: str | None) -> str:
    """Where an API key's callback secret is kept in the secret store."""
    return f"callback-{api_key_id or 'none'}"


@dataclass(eq=False)
class Subscription:
    webhook_id: str
    url: str
    events: list[str]
    secret_id: str
    """The secret store entry that signs its deliveries."""
    enabled: bool = True
    task_id: str | None = None
    """Set on a task's callback."""
    failing_since: float | None = None
    """Unix time of the first failed attempt since the last delivered one."""
    gone: bool = False
    """A deleted webhook: no attempt starts, not even a retry."""
    busy: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(PER_ENDPOINT))

    @property
    def is_callback(self) -> bool:
        return self.task_id is not None

    def wants(self, event_type: str) -> bool:
        return any(
            name == event_type or (name.endswith("*") and event_type.startswith(name[:-1]))
            for name in self.events
        )


def callback(task_id: str, url: str, api_key_id: str | None) -> Subscription:
    """A task's callback: its seed events to `url`, signed with its key's secret."""
    return Subscription(
        callback_id(task_id), url, sorted(TASK_EVENTS), callback_secret_id(api_key_id),
        task_id=task_id,
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class Job:
    """One attempt to make: `event` (or the event at `position`, read when it is None)
    to `subscription`, numbered `attempt`, called for by the event at `at` (the same
    event, or a test or redelivery request); `retries`: a failure schedules the next."""

    subscription: Subscription
    event_id: str
    position: int
    at: int
    attempt: int = 1
    event: Event | None = None
    retries: bool = True

    @property
    def delivery_id(self) -> str:
        return f"{self.subscription.webhook_id}:{self.event_id}"


class Subscriptions:
    def __init__(self) -> None:
        self.webhooks: dict[str, Subscription] = {}
        self.callbacks: dict[str, Subscription] = {}
        """Task id -> its callback, while the task is unfinished."""

    def load_webhook(self, row: dict[str, Any]) -> None:
        """A webhook from the read model (at start)."""
        self.webhooks[row["webhook_id"]] = Subscription(
            row["webhook_id"],
            row["url"],
            list(row["events"]),
            row["webhook_id"],
            enabled=bool(row["enabled"]),
            failing_since=row.get("failing_since"),
        )

    def load_callback(self, task_id: str, url: str, api_key_id: str | None) -> None:
        """An unfinished task's callback (at start)."""
        self.callbacks[task_id] = callback(task_id, url, api_key_id)

    def get(self, webhook_id: str) -> Subscription | None:
        if webhook_id.startswith("cb-"):
            return self.callbacks.get(webhook_id.removeprefix("cb-"))
        return self.webhooks.get(webhook_id)

    def jobs(self, event: Event) -> list[Job]:
        """The deliveries `event` calls for, after applying what it changes."""
        data = event.data
        match data:
            case WebhookCreated():
                self.webhooks[data.webhook_id] = Subscription(
                    data.webhook_id, data.url, list(data.events), data.webhook_id
                )
            case WebhookUpdated(webhook_id=webhook_id) if webhook_id in self.webhooks:
                subscription = self.webhooks[webhook_id]
                if data.events is not None:
                    subscription.events = list(data.events)
                if data.enabled is not None:
                    subscription.enabled = data.enabled
                    subscription.failing_since = None
            case WebhookDeleted(webhook_id=webhook_id) if webhook_id in self.webhooks:
                self.webhooks.pop(webhook_id).gone = True
            case WebhookTested(webhook_id=webhook_id) if webhook_id in self.webhooks:
                target = self.webhooks[webhook_id]
                return [
                    Job(target, event.event_id, event.position, event.position, event=event,
                        retries=False)
                ]  # fmt: skip
            case WebhookRedeliveryRequested(webhook_id=webhook_id) if webhook_id in self.webhooks:
                return [
                    Job(self.webhooks[webhook_id], data.event_id, data.event_position,
                        event.position, attempt=data.attempt, retries=False)
                ]  # fmt: skip
            case TaskCreated(callback_url=url) if url is not None and data.parent_id is None:
                self.load_callback(data.task_id, url, data.api_key_id)
        if event.type.startswith("webhook."):
            return []
        at = event.position
        jobs = [
            Job(subscription, event.event_id, at, at, event=event)
            for subscription in self.webhooks.values()
            if subscription.enabled and subscription.wants(event.type)
        ]
        if event.type in TASK_EVENTS and (task_id := getattr(data, "task_id", None)):
            callback = self.callbacks.get(task_id)
            if callback is not None:
                jobs.append(Job(callback, event.event_id, at, at, event=event))
                if event.type in _TERMINAL:  # its retries in flight go on
                    del self.callbacks[task_id]
        return jobs
