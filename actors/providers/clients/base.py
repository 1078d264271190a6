"""What every provider client speaks, whatever the vendor's wire format.

A client turns a `ChatRequest` into one vendor call and the vendor's answer into a
`ChatResult`, or, streamed, into `Delta`s ending with one `Done`. Any failure is raised as
`actors.providers.errors.ProviderError`. `finish_reason` uses OpenAI's words ("stop",
"length", "tool_calls", "content_filter") where the vendor has an equivalent, else the
vendor's own word in lower case.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final, Protocol

import msgspec

from actors.providers.limit_headers import RateLimits

__all__ = [
    "ANTHROPIC",
    "COHERE",
    "GEMINI",
    "OPENAI",
    "ChatClient",
    "ChatRequest",
    "ChatResult",
    "Delta",
    "Done",
    "Message",
    "RateLimits",
    "StreamEvent",
    "Usage",
]

OPENAI: Final = "openai"
ANTHROPIC: Final = "anthropic"
GEMINI: Final = "gemini"
COHERE: Final = "cohere"


class Message(msgspec.Struct, frozen=True):
    role: str
    """One of "system", "user", "assistant"."""
    content: str


class ChatRequest(msgspec.Struct, frozen=True, kw_only=True):
    messages: list[Message]
    model: str
    max_tokens: int | None = None
    temperature: float | None = None


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatResult(msgspec.Struct, frozen=True, kw_only=True):
    content: str
    model: str
    usage: Usage
    finish_reason: str | None = None
    response_id: str | None = None
    limits: RateLimits = RateLimits()


class Delta(msgspec.Struct, frozen=True):
    """A streamed piece of the answer's text."""

    text: str


class Done(msgspec.Struct, frozen=True):
    """The stream's end: `content` is all the text, `usage` whatever the vendor sent."""

    result: ChatResult


StreamEvent = Delta | Done


class ChatClient(Protocol):
    style: str

    async def complete(self, request: ChatRequest, *, timeout: float) -> ChatResult:
        """One answer, within `timeout` seconds for the whole call."""
        ...

    def stream(self, request: ChatRequest, *, timeout: float) -> AsyncIterator[StreamEvent]:
        """The answer as it is written, ending with `Done`; `timeout` bounds the whole
        stream."""
        ...

    async def models(self, *, timeout: float) -> list[str]:
        """The vendor's model list: a check of connectivity, the key and model access."""
        ...
