"""Which committed event calls for which delivery (pure: no node, no network)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from actors.webhooks.subscriptions import Subscriptions
from events.envelope import Event, EventData, Meta
from events.types import (
    TaskCompleted,
    TaskCreated,
    TaskStarted,
    WebhookAttempted,
    WebhookCreated,
    WebhookDeleted,
    WebhookRedeliveryRequested,
    WebhookTested,
    WebhookUpdated,
)

_positions = count(1)


def _event(data: EventData) -> Event:
    position = next(_positions)
    return Event(
        event_id=f"evt-{position}",
        stream="s",
        version=1,
        position=position,
        type=data.type_name,
        schema=1,
        data=data,
        meta=Meta(),
        ts=datetime.now(UTC),
        hash="",
    )


def _created(webhook_id: str, events: list[str]) -> Event:
    created = WebhookCreated(webhook_id=webhook_id, url="http://127.0.0.1:9/", events=events,
                             owner_key_id=None, secret_fingerprint="f")  # fmt: skip
    return _event(created)


def _targets(subscriptions: Subscriptions, data: EventData) -> list[str]:
    return [job.subscription.webhook_id for job in subscriptions.jobs(_event(data))]


def test_names_and_prefixes_match_and_a_disabled_or_deleted_webhook_gets_nothing():
    subs = Subscriptions()
    subs.jobs(_created("wh-a", ["task.completed"]))
    subs.jobs(_created("wh-b", ["task.*"]))
    started = TaskStarted(task_id="t1", agent_id="a")
    assert _targets(subs, started) == ["wh-b"]
    done = TaskCompleted(task_id="t1", agent_id="a", result={})
    assert sorted(_targets(subs, done)) == ["wh-a", "wh-b"]
    subs.jobs(_event(WebhookUpdated(webhook_id="wh-b", enabled=False)))
    assert _targets(subs, done) == ["wh-a"]
    subs.jobs(_event(WebhookDeleted(webhook_id="wh-a")))
    assert _targets(subs, done) == []


def test_a_catch_all_webhook_gets_no_webhook_events_and_a_ping_goes_to_its_target_only():
    subs = Subscriptions()
    subs.jobs(_created("wh-all", ["*"]))
    subs.jobs(_created("wh-off", ["agent.error"]))
    subs.jobs(_event(WebhookUpdated(webhook_id="wh-off", enabled=False)))
    attempted = WebhookAttempted(webhook_id="wh-all", delivery_id="d", event_id="e",
                                 event_type="task.created", event_position=1, attempt=1,
                                 outcome="delivered")  # fmt: skip
    assert _targets(subs, attempted) == []
    [ping] = subs.jobs(_event(WebhookTested(webhook_id="wh-off")))
    assert ping.subscription.webhook_id == "wh-off" and not ping.retries  # even if disabled
    again = WebhookRedeliveryRequested(webhook_id="wh-all", delivery_id="wh-all:evt-1",
                                       event_id="evt-1", event_position=1, attempt=4)  # fmt: skip
    [job] = subs.jobs(_event(again))
    assert (job.attempt, job.position, job.event, job.retries) == (4, 1, None, False)
    assert job.at > job.position  # the request's position holds the checkpoint back


def test_a_callback_follows_its_task_and_ends_with_it():
    subs = Subscriptions()
    created = TaskCreated(task_id="t9", task_type="echo", parameters={},
                          callback_url="http://127.0.0.1:9/cb", api_key_id="key-1")  # fmt: skip
    [job] = subs.jobs(_event(created))
    assert job.subscription.webhook_id == "cb-t9" and job.subscription.secret_id == "callback-key-1"
    assert _targets(subs, TaskStarted(task_id="other", agent_id="a")) == []
    assert _targets(subs, TaskCompleted(task_id="t9", agent_id="a", result={})) == ["cb-t9"]
    assert _targets(subs, TaskStarted(task_id="t9", agent_id="a")) == []  # it has ended
    part = TaskCreated(task_id="t9-scan", task_type="echo", parameters={}, parent_id="t8",
                       callback_url="http://127.0.0.1:9/cb")  # fmt: skip
    assert _targets(subs, part) == []  # a part's events go to its parent's callback only
