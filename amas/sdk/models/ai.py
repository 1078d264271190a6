"""AI completions through the node's router, plain or streamed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amas.sdk.models._base import Model


@dataclass(frozen=True, kw_only=True)
class Attempt(Model):
    provider: str
    outcome: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class Usage(Model):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True, kw_only=True)
class Completion(Model):
    content: str
    provider: str
    model: str | None = None
    finish_reason: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    """Every provider tried or skipped on the way, in order."""
    usage: Usage | None = None
    cost_usd: float | None = None
    """None when the provider's prices are not configured."""
    call_id: str | None = None
    strategy: str | None = None


@dataclass(frozen=True, kw_only=True)
class CompletionChunk(Model):
    """One server-sent event of a streamed completion: `attempt` (a failed try),
    `delta` (`text`), then `done` (`completion`) or `error` (the envelope's fields)."""

    event: str
    text: str | None = None
    attempt: Attempt | None = None
    completion: Completion | None = None
    error: dict[str, Any] | None = None
