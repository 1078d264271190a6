"""API key commands: create, rotate, revoke (stream `apikey-<key_id>`).

Key commands are rare, so this keeps no state between them: each one folds its key's
stream from the log, decides with the pure functions below, and appends at the version
it read. Two commands racing on one key meet the store's optimistic concurrency and
the loser is told CONFLICT, so there is still one writer's truth per key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from actors.io import ReplyFn
from events.commands import CreateApiKey, Reply, RevokeApiKey, RotateApiKey, rejected
from events.envelope import EventData
from events.errors import ConcurrencyError, EventsError
from events.store.base import EventStore
from events.types import ApiKeyCreated, ApiKeyRevoked, ApiKeyRotated
from events.vocabulary import ErrorCode

log = logging.getLogger(__name__)

KeyCommand = CreateApiKey | RotateApiKey | RevokeApiKey


class KeyState(msgspec.Struct, kw_only=True):
    key_id: str
    version: int
    revoked: bool = False
    expires_at: str | None = None
    request_hash: str | None = None
    rotations: dict[str, str | None] = {}
    """Idempotency-Key -> request hash of the rotations that carried one."""


def stream_of(key_id: str) -> str:
    return f"apikey-{key_id}"


def evolve(state: KeyState | None, event: EventData) -> KeyState | None:
    match event:
        case ApiKeyCreated(key_id=key_id, expires_at=expires_at, request_hash=digest):
            return KeyState(key_id=key_id, version=1, expires_at=expires_at, request_hash=digest)
        case ApiKeyRotated(expires_at=expires_at) as rotated if state is not None:
            rotations = state.rotations
            if rotated.idempotency_key is not None:
                rotations = {**rotations, rotated.idempotency_key: rotated.request_hash}
            return msgspec.structs.replace(
                state, version=state.version + 1, expires_at=expires_at, rotations=rotations
            )
        case ApiKeyRevoked() if state is not None:
            return msgspec.structs.replace(state, version=state.version + 1, revoked=True)
    return state


def decide(state: KeyState | None, command: KeyCommand) -> list[EventData] | Reply:
    """The events a command makes, or the Reply refusing it."""
    if isinstance(command, CreateApiKey):
        if state is not None:
            if command.request_hash is not None and command.request_hash == state.request_hash:
                return _replayed(command.key_id)  # a retry with the same Idempotency-Key
            return rejected(
                ErrorCode.CONFLICT,
                f"API key {command.key_id!r} already exists",
                key_id=command.key_id,
            )
        return [
            ApiKeyCreated(
                key_id=command.key_id,
                name=command.name,
                prefix=command.prefix,
                secret_hash=command.secret_hash,
                scopes=command.scopes,
                tier=command.tier,
                owner=command.owner,
                expires_at=command.expires_at,
                request_hash=command.request_hash,
            )
        ]
    if state is None:
        return rejected(
            ErrorCode.NOT_FOUND, f"API key {command.key_id!r} not found", key_id=command.key_id
        )
    if state.revoked:
        return rejected(
            ErrorCode.CONFLICT, f"API key {command.key_id!r} is revoked", key_id=command.key_id
        )
    if isinstance(command, RotateApiKey):
        if command.idempotency_key is not None and command.idempotency_key in state.rotations:
            if state.rotations[command.idempotency_key] == command.request_hash:
                return _replayed(command.key_id)
            return rejected(
                ErrorCode.CONFLICT,
                "this Idempotency-Key was used for a different request",
                key_id=command.key_id,
            )
        return [
            ApiKeyRotated(
                key_id=command.key_id,
                prefix=command.prefix,
                secret_hash=command.secret_hash,
                expires_at=command.expires_at or state.expires_at,
                idempotency_key=command.idempotency_key,
                request_hash=command.request_hash,
            )
        ]
    return [ApiKeyRevoked(key_id=command.key_id, reason=command.reason)]


def _replayed(key_id: str) -> Reply:
    return Reply(ok=True, data={"key_id": key_id, "replayed": True})


async def execute(store: EventStore, command: KeyCommand) -> Reply:
    """Fold the key's stream, decide, append at the version read."""
    stream = stream_of(command.key_id)
    state: KeyState | None = None
    for event in await store.read_stream(stream):
        state = evolve(state, event.data)
    decision = decide(state, command)
    if isinstance(decision, Reply):
        return decision
    try:
        result = await store.append(stream, state.version if state else 0, decision, command.meta)
    except ConcurrencyError as e:
        return rejected(ErrorCode.CONFLICT, f"API key {command.key_id!r} changed meanwhile: {e}")
    except EventsError as e:
        log.warning("append to %s failed: %s", stream, e)
        return rejected(ErrorCode.SERVICE_UNAVAILABLE, str(e))
    return Reply(ok=True, position=result.last_position, data={"key_id": command.key_id})


class KeyCommands:
    """Serves the `amas.cmd.apikey.*` subjects on the node's loop.

    `settled(position)` returns once the keys in force reflect `position`: a caller
    told "revoked" can count on the key being refused from then on.
    """

    def __init__(self, store: EventStore, settled: Callable[[int], Awaitable[None]]) -> None:
        self.store = store
        self.settled = settled
        self._running: set[asyncio.Task[Any]] = set()

    def handle(self, command: Any, reply: ReplyFn) -> None:
        if not isinstance(command, CreateApiKey | RotateApiKey | RevokeApiKey):
            reply(
                rejected(
                    ErrorCode.INVALID_REQUEST, f"not an API key command: {type(command).__name__}"
                )
            )
            return
        task = asyncio.get_running_loop().create_task(self._run(command, reply))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, command: KeyCommand, reply: ReplyFn) -> None:
        answer = await execute(self.store, command)
        if answer.ok:
            await self.settled(answer.position)
        reply(answer)

    async def drain(self) -> None:
        if self._running:
            await asyncio.wait(set(self._running), timeout=5.0)
