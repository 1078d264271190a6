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
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from actors.agents.scope import NetworkScope
from actors.webhooks.guard import Refused, Target, check_url, resolve
from actors.webhooks.payloads import delivery_data
from actors.webhooks.secrets import SecretStore
from actors.webhooks.signing import payload, standard_headers
from actors.webhooks.subscriptions import Job, Subscription, Subscriptions, callback
from actors.webhooks.transport import Sent, Transport
from events import tracing
from events.clock import iso
from events.envelope import Event, Meta
from events.store.base import ANY_VERSION, EventStore
from events.types import WebhookAttempted, WebhookUpdated

log = logging.getLogger(__name__)

SVIX = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
"""Seconds before each attempt: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h."""
_JITTER = 0.1
ACTOR = "webhook-deliverer"
FIVE_DAYS = 5 * 86400.0
"""A webhook failing this long (no delivered attempt since its first failure) is disabled."""
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


class Reads(Protocol):
    """What the deliverer reads from the read models (events/queries/webhooks.py)."""

    async def webhooks(self) -> list[dict[str, Any]]: ...
    async def pending(self) -> list[dict[str, Any]]: ...
    async def attempts(self, delivery_ids: list[str]) -> dict[str, int]: ...
    async def callbacks(self, task_id: str | None = None) -> list[dict[str, Any]]: ...


class Deliverer:
    def __init__(
        self,
        store: EventStore,
        secrets: SecretStore,
        allow: NetworkScope,
        checkpoint: Path,
        reads: Reads,
        schedule: Sequence[float] = SVIX,
        disable_after: float = FIVE_DAYS,
        transport: Transport | None = None,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.allow = allow
        self.checkpoint_path = checkpoint
        self.reads = reads
        self.schedule = tuple(schedule)
        self.disable_after = disable_after
        self.transport = transport or Transport()
        self.subscriptions = Subscriptions()
        self._targets: dict[str, Target] = {}
        self._unrecorded: list[tuple[WebhookAttempted, asyncio.Future[None]]] = []
        self._recorder: asyncio.Future[None] | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.open: OrderedDict[int, int] = OrderedDict()
        """Position -> its attempts not recorded yet (first ones, tests, redeliveries)."""
        self.safe = 0
        """The checkpoint: every event up to here has its attempts recorded."""
        self.db: aiosqlite.Connection

    async def start(self) -> None:
        self.db = await aiosqlite.connect(self.checkpoint_path, isolation_level=None)
        await self.db.execute("CREATE TABLE IF NOT EXISTS checkpoint (position INTEGER)")
        rows = list(await self.db.execute_fetchall("SELECT position FROM checkpoint"))
        position = int(rows[0][0]) if rows else self.store.head
        self.safe = position
        if not rows:
            await self.db.execute("INSERT INTO checkpoint VALUES (?)", (position,))
        for row in await self.reads.webhooks():
            self.subscriptions.load_webhook(row)
        for row in await self.reads.callbacks():
            self.subscriptions.load_callback(row["task_id"], row["callback_url"], row["api_key_id"])
        for pending in await self.reads.pending():
            self._spawn(self._resume(pending))
        self._spawn(self._follow(position + 1))

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self._recorder is not None:  # attempts already made are recorded before the end
            await asyncio.gather(self._recorder, return_exceptions=True)
        await self.db.execute("UPDATE checkpoint SET position = ?", (self.safe,))
        await self.transport.aclose()
        await self.db.close()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _follow(self, from_position: int) -> None:
        """Start each event's attempts without waiting for them (a slow endpoint holds
        up nothing); the checkpoint follows behind, past every event whose attempts
        all are recorded. After a restart, an attempt already in the log is skipped."""
        saver = asyncio.ensure_future(self._save_checkpoints())
        try:
            async for batch in self.store.subscribe_batches(from_position):
                jobs = [job for event in batch for job in self.subscriptions.jobs(event)]
                made = await self.reads.attempts([job.delivery_id for job in jobs]) if jobs else {}
                todo = [job for job in jobs if made.get(job.delivery_id, 0) < job.attempt]
                for event in batch:  # counted before any attempt can end
                    self.open[event.position] = 0
                for job in todo:
                    self.open[job.at] += 1
                for job in todo:
                    self._spawn(self._first(job))
                self._advance()
        finally:
            saver.cancel()

    async def _first(self, job: Job) -> None:
        try:
            await self._deliver(job)
        finally:
            self.open[job.at] -= 1
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

    async def _resume(self, pending: dict[str, Any]) -> None:
        """A retry that was waiting when the node stopped: it goes on at its time."""
        webhook_id: str = pending["webhook_id"]
        subscription = self.subscriptions.get(webhook_id)
        if subscription is None and webhook_id.startswith("cb-"):  # its task has ended
            rows = await self.reads.callbacks(webhook_id.removeprefix("cb-"))
            if rows:
                row = rows[0]
                subscription = callback(row["task_id"], row["callback_url"], row["api_key_id"])
        if subscription is None:
            return
        wait = max(0.0, (pending["next_attempt_at"] or 0.0) - time.time())
        await asyncio.sleep(wait)
        position = int(pending["event_position"])
        job = Job(subscription, pending["event_id"], position, position,
                  attempt=int(pending["attempts"]) + 1)  # fmt: skip
        await self._deliver(job)

    async def _deliver(self, job: Job) -> None:
        subscription = job.subscription
        if subscription.gone or not (subscription.enabled or not job.retries):
            return
        event = job.event
        if event is None:
            found = await self.store.read_all(job.position, 1)
            if not found or found[0].event_id != job.event_id:
                log.error("delivery %s: no event %s at %d", job.delivery_id, job.event_id,
                          job.position)  # fmt: skip
                return
            event = found[0]
        with tracing.span(
            "webhook.deliver",
            parent=tracing.trace_of(event.meta),
            kind=tracing.CLIENT,
            attributes={"amas.webhook_id": subscription.webhook_id, "amas.attempt": job.attempt},
        ):
            delay = await self._attempt(subscription, event, job)
        if delay is not None and job.retries:
            self._spawn(self._later(job, event, delay))

    async def _later(self, job: Job, event: Event, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._deliver(replace(job, attempt=job.attempt + 1, event=event))

    async def _attempt(self, subscription: Subscription, event: Event, job: Job) -> float | None:
        """One POST and its record; the delay before the next attempt, if one is due.

        The endpoint's slot is held for the POST only (resolving, signing, sending): a
        slow commit of the record holds up no other attempt to it."""
        record: dict[str, Any] = {
            "webhook_id": subscription.webhook_id,
            "delivery_id": job.delivery_id,
            "event_id": event.event_id,
            "event_type": event.type,
            "event_position": event.position,
            "attempt": job.attempt,
        }
        secrets = await self.secrets.signing(subscription.secret_id)
        if not secrets:  # not stored yet (a race with its making) or lost: nothing sent
            delay = self._delay(job.attempt, None) if job.retries else None
            error = f"no signing secret {subscription.secret_id!r} in the secret store"
            outcome = "failed" if delay is not None or not job.retries else "gave_up"
            await self._record(WebhookAttempted(**record, outcome=outcome, next_attempt_in=delay,
                                                error=error))  # fmt: skip
            return delay
        async with subscription.busy:
            sent = await self._send(subscription, event, secrets)
        if isinstance(sent, str):
            await self._record(WebhookAttempted(**record, outcome="refused", error=sent))
            return None
        if sent.ok:
            subscription.failing_since = None
            await self._record(
                WebhookAttempted(
                    **record, outcome="delivered", status=sent.status, latency_ms=sent.latency_ms
                )
            )
            return None
        if sent.status == 410 and not subscription.is_callback:
            await self._record(
                WebhookAttempted(
                    **record, outcome="disabled", status=410, latency_ms=sent.latency_ms
                )
            )
            await self._disable(subscription, "the endpoint answered 410 Gone")
            return None
        now = time.time()
        if subscription.failing_since is None:
            subscription.failing_since = now
        failing_for = now - subscription.failing_since
        delay = self._delay(job.attempt, sent.retry_after) if job.retries else None
        error = sent.error or f"HTTP {sent.status}: {sent.body_excerpt[:100]}"
        outcome = "gave_up" if job.retries and delay is None else "failed"
        await self._record(
            WebhookAttempted(
                **record,
                outcome=outcome,
                status=sent.status,
                latency_ms=sent.latency_ms,
                next_attempt_in=delay,
                error=error,
            )
        )
        if failing_for >= self.disable_after and not subscription.is_callback:
            await self._disable(
                subscription,
                f"no delivery succeeded for {failing_for / 86400:.1f} days"
                f" (failing since {_iso(subscription.failing_since)}); last: {error}",
            )
            return None
        return delay

    async def _send(
        self, subscription: Subscription, event: Event, secrets: list[str]
    ) -> Sent | str:
        """The POST: resolved (and checked) now, signed with a fresh timestamp, sent to
        the address it resolved to; or why it was refused."""
        try:
            pinned = await resolve(self._target(subscription.url), self.allow)
        except (Refused, OSError, ValueError) as e:
            return str(e)
        body = payload(event.type, iso(event.ts), delivery_data(event), secrets[0])
        keys = [standard_secret(secret) for secret in secrets]
        headers = {
            **standard_headers(keys[0], event.event_id, int(time.time()), body, previous=keys[1:]),
            "content-type": "application/json",
            "user-agent": "AMAS-webhooks",
        }
        return await self.transport.post(pinned, headers, body)

    def _target(self, url: str) -> Target:
        """`check_url` once per URL: the allow-list is fixed for the node's life, and
        `resolve` checks the addresses the host has at each attempt."""
        target = self._targets.get(url)
        if target is None:
            target = self._targets[url] = check_url(url, self.allow)
        return target

    async def _disable(self, subscription: Subscription, reason: str) -> None:
        """Stop delivering to a webhook; `webhook.updated` (enabled false) tells why."""
        if not subscription.enabled:
            return
        subscription.enabled = False
        try:
            await self.store.append(
                f"webhook-{subscription.webhook_id}",
                ANY_VERSION,
                [WebhookUpdated(webhook_id=subscription.webhook_id, enabled=False, reason=reason)],
                Meta(actor=ACTOR),
            )
        except Exception:
            log.exception("webhook %s: could not record its disabling", subscription.webhook_id)

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        if attempt >= len(self.schedule):
            return None
        base = self.schedule[attempt]
        jittered = base * (1 + random.uniform(-_JITTER, _JITTER))
        return max(jittered, retry_after or 0.0)

    async def _record(self, attempted: WebhookAttempted) -> None:
        """The attempt's event, committed with the others recorded meanwhile (one append
        per webhook while the previous batch commits). One that cannot be recorded is
        logged: the delivery's fate is then unknown to the log, and a restart may send
        it again."""
        done = asyncio.get_running_loop().create_future()
        self._unrecorded.append((attempted, done))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.ensure_future(self._record_batches())
        await done

    async def _record_batches(self) -> None:
        while self._unrecorded:
            batch, self._unrecorded = self._unrecorded, []
            streams: dict[str, list[tuple[WebhookAttempted, asyncio.Future[None]]]] = {}
            for item in batch:
                streams.setdefault(f"delivery-{item[0].webhook_id}", []).append(item)
            await asyncio.gather(*(self._append_records(s, items) for s, items in streams.items()))

    async def _append_records(
        self, stream: str, items: list[tuple[WebhookAttempted, asyncio.Future[None]]]
    ) -> None:
        try:
            await self.store.append(stream, ANY_VERSION, [a for a, _ in items], Meta(actor=ACTOR))
        except Exception:
            log.exception("%d delivery attempts to %s not recorded", len(items), stream)
        for _, done in items:
            if not done.done():
                done.set_result(None)


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds")
