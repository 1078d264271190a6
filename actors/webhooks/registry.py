"""Webhook subscriptions: create, update, rotate the secret, delete (stream
`webhook-<id>`).

Like the API key commands, these are rare: each folds its webhook's stream, decides
with the pure `decide`, and appends at the version it read (a race is a CONFLICT). A
webhook belongs to the API key that made it; another key gets NOT_FOUND, as if it did
not exist; an admin key may act on any. URLs are checked against the allow-list
(AMAS_WEBHOOK_ALLOW) here, at registration, and again at each delivery. The secret goes
to the secret store, never to the log; a new one is answered once.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from actors.agents.scope import NetworkScope
from actors.io import ReplyFn
from actors.webhooks.guard import Refused, check_url
from actors.webhooks.secrets import SecretStore, fingerprint
from actors.webhooks.signing import new_secret
from actors.webhooks.subscriptions import callback_secret_id
from events.commands import (
    CreateWebhook,
    DeleteWebhook,
    RedeliverWebhook,
    Reply,
    RotateWebhookSecret,
    SetCallbackSecret,
    TestWebhook,
    UpdateWebhook,
    WebhookCommand,
    rejected,
)
from events.envelope import EventData
from events.errors import ConcurrencyError, EventsError
from events.ids import new_prefixed_id
from events.store.base import ANY_VERSION, EventStore
from events.types import (
    CallbackSecretSet,
    WebhookCreated,
    WebhookDeleted,
    WebhookRedeliveryRequested,
    WebhookSecretRotated,
    WebhookTested,
    WebhookUpdated,
)
from events.vocabulary import ErrorCode

EVENTS = (
    "task.created",
    "task.started",
    "task.progress",
    "task.completed",
    "task.failed",
    "task.cancelled",
    "agent.error",
    "system.alert",
)
"""The seed's eight; a subscription may name them, or prefixes such as `task.*`."""
_NAME = re.compile(r"^[a-z]+(\.[a-z_]+)?(\.\*)?$|^[a-z]+\.\*$|^\*$")


class WebhookState(msgspec.Struct, kw_only=True):
    webhook_id: str
    version: int
    owner_key_id: str | None
    deleted: bool = False


def evolve(state: WebhookState | None, event: EventData) -> WebhookState | None:
    match event:
        case WebhookCreated(webhook_id=webhook_id, owner_key_id=owner):
            return WebhookState(webhook_id=webhook_id, version=1, owner_key_id=owner)
        case WebhookDeleted() if state is not None:
            state.version += 1
            state.deleted = True
        case _ if state is not None:
            state.version += 1
    return state


def check_events(events: list[str]) -> str | None:
    """Why `events` cannot be subscribed to, or None."""
    if not events:
        return "name at least one event"
    for name in events:
        if not _NAME.match(name):
            return f"{name!r} is not an event name or prefix (e.g. task.completed, task.*)"
        if not name.endswith("*") and name not in EVENTS:
            return f"{name!r} is not one of {', '.join(EVENTS)}"
    return None


def decide(state: WebhookState | None, command: WebhookCommand) -> list[EventData] | Reply:
    if isinstance(command, CreateWebhook | SetCallbackSecret):
        raise TypeError(f"{type(command).__name__} is decided by the registry's own method")
    if (
        state is None
        or state.deleted
        or (not command.as_admin and state.owner_key_id != command.meta.api_key_id)
    ):
        return rejected(ErrorCode.NOT_FOUND, f"webhook {command.webhook_id!r} not found",
                        webhook_id=command.webhook_id)  # fmt: skip
    match command:
        case UpdateWebhook(events=events, enabled=enabled):
            if events is not None and (why := check_events(events)) is not None:
                return rejected(ErrorCode.INVALID_PARAMETER, why, parameter="events")
            return [WebhookUpdated(webhook_id=state.webhook_id, events=events, enabled=enabled,
                                   reason="changed by request")]  # fmt: skip
        case DeleteWebhook():
            return [WebhookDeleted(webhook_id=state.webhook_id)]
        case TestWebhook():
            return [WebhookTested(webhook_id=state.webhook_id)]
        case RedeliverWebhook():
            return [
                WebhookRedeliveryRequested(
                    webhook_id=state.webhook_id,
                    delivery_id=command.delivery_id,
                    event_id=command.event_id,
                    event_position=command.event_position,
                    attempt=command.attempt,
                )
            ]
    raise TypeError(f"not decided here: {type(command).__name__}")


class WebhookRegistry:
    """Serves `amas.cmd.webhook.*` on the node's loop."""

    def __init__(
        self,
        store: EventStore,
        secrets: SecretStore,
        allow: NetworkScope,
        settled: Callable[[int], Awaitable[None]],
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.allow = allow
        self.settled = settled
        self._running: set[asyncio.Task[Any]] = set()

    def handle(self, command: Any, reply: ReplyFn) -> None:
        task = asyncio.get_running_loop().create_task(self._run(command, reply))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def drain(self) -> None:
        if self._running:
            await asyncio.wait(set(self._running), timeout=5.0)

    async def _run(self, command: WebhookCommand, reply: ReplyFn) -> None:
        answer = await self.execute(command)
        if answer.ok:
            await self.settled(answer.position)
        reply(answer)

    async def execute(self, command: WebhookCommand) -> Reply:
        if isinstance(command, CreateWebhook):
            return await self._create(command)
        if isinstance(command, SetCallbackSecret):
            return await self._callback_secret(command)
        stream = f"webhook-{command.webhook_id}"
        state: WebhookState | None = None
        for event in await self.store.read_stream(stream):
            state = evolve(state, event.data)
        if isinstance(command, RotateWebhookSecret):
            probe = UpdateWebhook(
                webhook_id=command.webhook_id, as_admin=command.as_admin, meta=command.meta
            )
            refusal = decide(state, probe)
            if isinstance(refusal, Reply):
                return refusal
            secret = new_secret()
            decision: list[EventData] | Reply = [
                WebhookSecretRotated(webhook_id=command.webhook_id,
                                     secret_fingerprint=fingerprint(secret))
            ]  # fmt: skip
        else:
            secret = None
            decision = decide(state, command)
        if isinstance(decision, Reply):
            return decision
        assert state is not None
        reply = await self._append(stream, state.version, decision, command)
        if reply.ok and secret is not None:
            await self.secrets.put(command.webhook_id, secret)
            return Reply(ok=True, position=reply.position,
                         data={**reply.data, "secret": secret})  # fmt: skip
        if reply.ok and isinstance(command, DeleteWebhook):
            await self.secrets.forget(command.webhook_id)
        return reply

    def _refused(self, url: str, parameter: str) -> Reply | None:
        """Why `url` may not be delivered to (FORBIDDEN outside the allow-list,
        INVALID_PARAMETER if it is no URL for a webhook), or None."""
        try:
            check_url(url, self.allow)
        except Refused as e:
            return rejected(ErrorCode.FORBIDDEN, str(e), parameter=parameter, url=url)
        except ValueError as e:
            return rejected(ErrorCode.INVALID_PARAMETER, str(e), parameter=parameter)
        return None

    async def _create(self, command: CreateWebhook) -> Reply:
        if (refusal := self._refused(command.url, "url")) is not None:
            return refusal
        if (why := check_events(command.events)) is not None:
            return rejected(ErrorCode.INVALID_PARAMETER, why, parameter="events")
        secret = command.secret or new_secret()
        webhook_id = new_prefixed_id("wh")
        await self.secrets.put(webhook_id, secret)
        created = WebhookCreated(
            webhook_id=webhook_id,
            url=command.url,
            events=list(dict.fromkeys(command.events)),
            owner_key_id=command.meta.api_key_id,
            secret_fingerprint=fingerprint(secret),
            description=command.description,
        )
        reply = await self._append(f"webhook-{webhook_id}", 0, [created], command)
        if not reply.ok:
            await self.secrets.forget(webhook_id)
            return reply
        data = {**reply.data, "secret": secret if command.secret is None else None}
        return Reply(ok=True, position=reply.position, data=data)

    async def _callback_secret(self, command: SetCallbackSecret) -> Reply:
        """The key's callback secret: made on its first task with a `callback_url`
        (answered once, in that task's answer), replaced on request."""
        url = command.callback_url
        if url is not None and (refusal := self._refused(url, "callback_url")) is not None:
            return refusal
        key_id = command.meta.api_key_id
        stream = f"callback-{key_id or 'none'}"
        secret = new_secret()
        set_it = CallbackSecretSet(api_key_id=key_id, secret_fingerprint=fingerprint(secret))
        if command.replace:
            reply = await self._append(stream, ANY_VERSION, [set_it], command)
        elif await self.store.read_stream(stream):
            return Reply(ok=True, data={"secret": None})
        else:
            reply = await self._append(stream, 0, [set_it], command)
            if reply.code == ErrorCode.CONFLICT:
                return Reply(ok=True, data={"secret": None})  # another request made it
        if not reply.ok:
            return reply
        await self.secrets.put(callback_secret_id(key_id), secret)
        return Reply(ok=True, position=reply.position, data={"secret": secret})

    async def _append(
        self, stream: str, version: int, events: list[EventData], command: WebhookCommand
    ) -> Reply:
        try:
            result = await self.store.append(stream, version, events, command.meta)
        except ConcurrencyError as e:
            return rejected(ErrorCode.CONFLICT, f"{stream} changed meanwhile: {e}")
        except EventsError as e:
            return rejected(ErrorCode.SERVICE_UNAVAILABLE, str(e))
        data = {"webhook_id": stream.removeprefix("webhook-"),
                "event_id": result.events[-1].event_id}  # fmt: skip
        return Reply(ok=True, position=result.last_position, data=data)
