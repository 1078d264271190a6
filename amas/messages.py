"""What travels on `amas.cmd.*` and `amas.work.*`: msgspec Structs, one union per direction.

Commands ask; the owning actor decides and answers with a Reply. A rejected command
gets `ok=False` with a code the HTTP edge maps to a status (see api/errors.py).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from events.envelope import Meta

Priority = Literal["low", "normal", "high", "critical"]

SUBMIT_TASK = "amas.cmd.task.submit"
CANCEL_TASK = "amas.cmd.task.cancel"
START_TASK = "amas.cmd.task.start"
REPORT_TASK = "amas.cmd.task.report"
CONFIGURE_AGENT = "amas.cmd.agent.configure"
CREATE_API_KEY = "amas.cmd.apikey.create"
ROTATE_API_KEY = "amas.cmd.apikey.rotate"
REVOKE_API_KEY = "amas.cmd.apikey.revoke"
CANCEL_WORK = "amas.ctl.work.cancel"
"""Broadcast: whichever node runs the task stops it."""


def work_subject(agent_type: str) -> str:
    """Where tasks for one agent type are handed out (queue group per type)."""
    return f"amas.work.{agent_type}"


class SubmitTask(msgspec.Struct, frozen=True, kw_only=True, tag="task.submit"):
    task_type: str
    parameters: dict[str, Any] = {}
    priority: Priority = "normal"
    callback_url: str | None = None
    max_attempts: int = 3
    max_active: int | None = None
    """How many unfinished tasks the submitting key may have (its tier's); None: any."""
    task_id: str | None = None
    """Set when the request carried an Idempotency-Key (derived from it); else new."""
    request_hash: str | None = None
    estimated_completion: str | None = None
    meta: Meta = Meta()


class CancelTask(msgspec.Struct, frozen=True, kw_only=True, tag="task.cancel"):
    task_id: str
    reason: str = "cancelled by request"
    meta: Meta = Meta()


class ConfigureAgent(msgspec.Struct, frozen=True, kw_only=True, tag="agent.configure"):
    agent_id: str
    timeout: float | None = None
    max_concurrent_tasks: int | None = None
    priority: Priority | None = None
    meta: Meta = Meta()


class CreateApiKey(msgspec.Struct, frozen=True, kw_only=True, tag="apikey.create"):
    """The caller made the key and keeps the raw secret: only its hash travels."""

    key_id: str
    name: str
    prefix: str
    secret_hash: str
    scopes: list[str]
    tier: str
    owner: str | None = None
    expires_at: str | None = None
    request_hash: str | None = None
    """Set when the request carried an Idempotency-Key (the key id is derived from it)."""
    meta: Meta = Meta()


class RotateApiKey(msgspec.Struct, frozen=True, kw_only=True, tag="apikey.rotate"):
    key_id: str
    prefix: str
    secret_hash: str
    expires_at: str | None = None
    """The new expiry; None keeps the key's current one."""
    idempotency_key: str | None = None
    request_hash: str | None = None
    meta: Meta = Meta()


class RevokeApiKey(msgspec.Struct, frozen=True, kw_only=True, tag="apikey.revoke"):
    key_id: str
    reason: str = "revoked by request"
    meta: Meta = Meta()


class StartTask(msgspec.Struct, frozen=True, kw_only=True, tag="task.start"):
    """An agent claims a task it was handed; only one claim per attempt wins."""

    task_id: str
    agent_id: str
    attempt: int


class ReportProgress(msgspec.Struct, frozen=True, kw_only=True, tag="task.progress"):
    task_id: str
    agent_id: str
    attempt: int
    progress: int
    message: str = ""


class CompleteTask(msgspec.Struct, frozen=True, kw_only=True, tag="task.complete"):
    task_id: str
    agent_id: str
    attempt: int
    result: dict[str, Any]


class FailTask(msgspec.Struct, frozen=True, kw_only=True, tag="task.fail"):
    task_id: str
    agent_id: str
    attempt: int
    reason: str
    error: str = ""


Command = (
    SubmitTask
    | CancelTask
    | ConfigureAgent
    | StartTask
    | ReportProgress
    | CompleteTask
    | FailTask
    | CreateApiKey
    | RotateApiKey
    | RevokeApiKey
)


class Reply(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    ok: bool
    position: int = 0
    """Position of the last event the command wrote: wait for it to read your write."""
    data: dict[str, Any] = {}
    code: str | None = None
    message: str | None = None
    details: dict[str, Any] = {}


class Work(msgspec.Struct, frozen=True, kw_only=True):
    """A task handed to an agent type's queue group; the agent claims it to get the rest."""

    task_id: str
    agent_id: str
    attempt: int


class CancelWork(msgspec.Struct, frozen=True, kw_only=True):
    task_id: str


command_encoder = msgspec.msgpack.Encoder()
command_decoder = msgspec.msgpack.Decoder(Command)
reply_decoder = msgspec.msgpack.Decoder(Reply)
work_decoder = msgspec.msgpack.Decoder(Work)
cancel_work_decoder = msgspec.msgpack.Decoder(CancelWork)


def rejected(code: str, message: str, **details: Any) -> Reply:
    return Reply(ok=False, code=code, message=message, details=details)
