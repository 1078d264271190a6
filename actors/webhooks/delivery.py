"""Webhook deliveries, driven by the log from a checkpoint.

The deliverer follows the committed events. For each one a webhook subscribes to (a
name or a prefix such as `task.*`) it POSTs the seed's payload, signed (signing.py),
to the address the URL resolves to now, checked against the allow-list again (guard.py)
and pinned for the connection (transport.py). Every attempt is a `webhook.attempted`
event (stream `delivery-<webhook id>`): delivered, failed with the next attempt's delay,
gave_up, refused, or disabled (a 410 also disables the webhook). Only 2xx counts.

Retries follow Svix's schedule with jitter (immediately, 5 s, 5 min, 30 min, 2 h, 5 h,
10 h, 10 h; `schedule` compresses it for tests). Each delivery runs as its own task, so
a slow endpoint holds up no other; at most `per_endpoint` run at once per webhook.

Nothing acknowledged is sent again: the checkpoint (the last position whose deliveries
all have a recorded attempt) moves only once those attempts are in the log; after a
restart, events past it are matched again and a delivery with a recorded attempt is
skipped, and pending retries go on at their time from the deliveries read model. An
event whose first attempt was cut by a crash before its record is sent again (at least
once: receivers de-duplicate on `webhook-id`, the event id).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import msgspec

from actors.agents.scope import NetworkScope
from actors.webhooks.guard import Refused, check_url, resolve
from actors.webhooks.secrets import SecretStore
from actors.webhooks.signing import payload, standard_headers
from actors.webhooks.transport import Transport
from events.clock import iso
from events.envelope import Event, Meta
from events.store.base import ANY_VERSION, EventStore
from events.types import (
    WebhookAttempted,
    WebhookCreated,
    WebhookDeleted,
    WebhookUpdated,
)

log = logging.getLogger(__name__)

SVIX = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
"""Seconds before each attempt: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h."""
_JITTER = 0.1
_CHECKPOINT_EVERY = 0.2
"""Seconds between checkpoint writes (a crash re-reads at most this much)."""


def standard_secret(secret: str) -> str:
    """The Standard Webhooks secret for the `webhook-signature` header: a `whsec_`
    secret as it is; one the client chose in another form (the seed's example is
    "your-webhook-secret") as `whsec_` + base64(sha256(secret)), a 32-byte key the spec
    allows. The seed's `signature` field is keyed by the secret as given."""
    if secret.startswith("whsec_"):
        return secret
    return "whsec_" + base64.b64encode(hashlib.sha256(secret.encode()).digest()).decode()


@dataclass
class Subscription:
    webhook_id: str
    url: str
    events: list[str]
    enabled: bool = True
    busy: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(8))

    def wants(self, event_type: str) -> bool:
        return any(
            name == event_type or (name.endswith("*") and event_type.startswith(name[:-1]))
            for name in self.events
        )


Load = Callable[[], Awaitable[list[dict[str, Any]]]]


class Deliverer:
    def __init__(
        self,
        store: EventStore,
        secrets: SecretStore,
        allow: NetworkScope,
        checkpoint: Path,
        load_webhooks: Load,
        load_pending: Load,
        recorded: Callable[[list[str]], Awaitable[set[str]]],
        schedule: Sequence[float] = SVIX,
        transport: Transport | None = None,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.allow = allow
        self.checkpoint_path = checkpoint
        self.load_webhooks = load_webhooks
        self.load_pending = load_pending
        self.recorded = recorded
        self.schedule = tuple(schedule)
        self.transport = transport or Transport()
        self.subscriptions: dict[str, Subscription] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.open: OrderedDict[int, int] = OrderedDict()
        """Position -> its deliveries whose first attempt is not recorded yet."""
        self.safe = 0
        """The checkpoint: every event up to here has its deliveries recorded."""
        self.db: aiosqlite.Connection

    async def start(self) -> None:
        self.db = await aiosqlite.connect(self.checkpoint_path, isolation_level=None)
        await self.db.execute("CREATE TABLE IF NOT EXISTS checkpoint (position INTEGER)")
        rows = list(await self.db.execute_fetchall("SELECT position FROM checkpoint"))
        position = int(rows[0][0]) if rows else self.store.head
        self.safe = position
        if not rows:
            await self.db.execute("INSERT INTO checkpoint VALUES (?)", (position,))
        for row in await self.load_webhooks():
            self.subscriptions[row["webhook_id"]] = Subscription(
                row["webhook_id"], row["url"], row["events"], bool(row["enabled"])
            )
        for pending in await self.load_pending():
            self._spawn(self._resume(pending))
        self._spawn(self._follow(position + 1))

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.db.execute("UPDATE checkpoint SET position = ?", (self.safe,))
        await self.transport.aclose()
        await self.db.close()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _follow(self, from_position: int) -> None:
        """Start each event's deliveries without waiting for them (a slow endpoint holds
        up nothing); the checkpoint follows behind, past every event whose deliveries
        all have a recorded first attempt."""
        saver = asyncio.ensure_future(self._save_checkpoints())
        try:
            async for batch in self.store.subscribe_batches(from_position):
                wanted: list[tuple[Subscription, Event]] = []
                for event in batch:
                    self._subscriptions_change(event)
                    wanted += [
                        (s, event)
                        for s in self.subscriptions.values()
                        if s.enabled and s.wants(event.type)
                    ]
                done = await self.recorded([f"{s.webhook_id}:{e.event_id}" for s, e in wanted])
                todo = [(s, e) for s, e in wanted if f"{s.webhook_id}:{e.event_id}" not in done]
                for event in batch:  # counted before any delivery can end
                    self.open[event.position] = sum(e is event for _, e in todo)
                for subscription, event in todo:
                    self._spawn(self._first(subscription, event))
                self._advance()
        finally:
            saver.cancel()

    async def _first(self, subscription: Subscription, event: Event) -> None:
        try:
            await self._deliver(subscription, event, 1)
        finally:
            self.open[event.position] -= 1
            self._advance()

    def _advance(self) -> None:
        while self.open and next(iter(self.open.values())) <= 0:
            self.safe, _ = self.open.popitem(last=False)

    async def _save_checkpoints(self) -> None:
        saved = self.safe
        while True:
            await asyncio.sleep(_CHECKPOINT_EVERY)
            if self.safe != saved:
                saved = self.safe
                await self.db.execute("UPDATE checkpoint SET position = ?", (saved,))

    def _subscriptions_change(self, event: Event) -> None:
        data = event.data
        match data:
            case WebhookCreated():
                self.subscriptions[data.webhook_id] = Subscription(
                    data.webhook_id, data.url, list(data.events)
                )
            case WebhookUpdated(webhook_id=webhook_id) if webhook_id in self.subscriptions:
                subscription = self.subscriptions[webhook_id]
                if data.events is not None:
                    subscription.events = list(data.events)
                if data.enabled is not None:
                    subscription.enabled = data.enabled
            case WebhookDeleted(webhook_id=webhook_id):
                self.subscriptions.pop(webhook_id, None)

    async def _resume(self, pending: dict[str, Any]) -> None:
        subscription = self.subscriptions.get(pending["webhook_id"])
        events = await self.store.read_all(int(pending["event_position"]), 1)
        if subscription is None or not events or events[0].event_id != pending["event_id"]:
            return
        wait = max(0.0, (pending["next_attempt_at"] or 0.0) - time.time())
        await asyncio.sleep(wait)
        await self._deliver(subscription, events[0], int(pending["attempts"]) + 1)

    async def _deliver(self, subscription: Subscription, event: Event, attempt: int) -> None:
        async with subscription.busy:
            outcome = await self._attempt(subscription, event, attempt)
        if outcome is not None:
            self._spawn(self._later(subscription, event, attempt + 1, outcome))

    async def _later(
        self, subscription: Subscription, event: Event, attempt: int, delay: float
    ) -> None:
        await asyncio.sleep(delay)
        if subscription.enabled and subscription.webhook_id in self.subscriptions:
            await self._deliver(subscription, event, attempt)

    async def _attempt(
        self, subscription: Subscription, event: Event, attempt: int
    ) -> float | None:
        """One POST and its record; the delay before the next attempt, if one is due."""
        secrets = await self.secrets.signing(subscription.webhook_id)
        if not secrets:
            return None
        record: dict[str, Any] = {
            "webhook_id": subscription.webhook_id,
            "delivery_id": f"{subscription.webhook_id}:{event.event_id}",
            "event_id": event.event_id,
            "event_type": event.type,
            "event_position": event.position,
            "attempt": attempt,
        }
        try:
            pinned = await resolve(check_url(subscription.url, self.allow), self.allow)
        except (Refused, OSError, ValueError) as e:
            await self._record(WebhookAttempted(**record, outcome="refused", error=str(e)))
            return None
        body = payload(event.type, iso(event.ts), msgspec.to_builtins(event.data), secrets[0])
        keys = [standard_secret(secret) for secret in secrets]
        headers = {
            **standard_headers(keys[0], event.event_id, int(time.time()), body, previous=keys[1:]),
            "content-type": "application/json",
            "user-agent": "AMAS-webhooks",
        }
        sent = await self.transport.post(pinned, headers, body)
        if sent.ok:
            await self._record(
                WebhookAttempted(
                    **record, outcome="delivered", status=sent.status, latency_ms=sent.latency_ms
                )
            )
            return None
        if sent.status == 410:
            subscription.enabled = False
            await self._record(
                WebhookAttempted(
                    **record, outcome="disabled", status=410, latency_ms=sent.latency_ms
                )
            )
            await self.store.append(
                f"webhook-{subscription.webhook_id}",
                ANY_VERSION,
                [
                    WebhookUpdated(
                        webhook_id=subscription.webhook_id,
                        enabled=False,
                        reason="the endpoint answered 410 Gone",
                    )
                ],
                Meta(actor="webhook-deliverer"),
            )
            return None
        delay = self._delay(attempt, sent.retry_after)
        error = sent.error or f"HTTP {sent.status}: {sent.body_excerpt[:100]}"
        await self._record(
            WebhookAttempted(
                **record,
                outcome="failed" if delay is not None else "gave_up",
                status=sent.status,
                latency_ms=sent.latency_ms,
                next_attempt_in=delay,
                error=error,
            )
        )
        return delay

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        if attempt >= len(self.schedule):
            return None
        base = self.schedule[attempt]
        jittered = base * (1 + random.uniform(-_JITTER, _JITTER))
        return max(jittered, retry_after or 0.0)

    async def _record(self, attempted: WebhookAttempted) -> None:
        """The attempt's event. One that cannot be recorded is logged: the delivery's
        fate is then unknown to the log, and a restart may send it again."""
        try:
            await self.store.append(
                f"delivery-{attempted.webhook_id}",
                ANY_VERSION,
                [attempted],
                Meta(actor="webhook-deliverer"),
            )
        except Exception:
            log.exception("delivery %s attempt not recorded", attempted.delivery_id)
