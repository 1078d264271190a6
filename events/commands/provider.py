"""AI provider commands (`amas.cmd.provider.*`), owned by the router.

`Complete` asks the router for one chat completion; the router picks and fails over
between providers and answers with the content, who answered and every attempt. With
`stream_to` set it also publishes the answer's pieces on that subject as they come
(`StreamPiece`, msgpack), before its reply.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from events.envelope import Meta

COMPLETE = "amas.cmd.provider.complete"
CONFIGURE_PROVIDER = "amas.cmd.provider.configure"
TEST_PROVIDER = "amas.cmd.provider.test"


class ChatMessage(msgspec.Struct, frozen=True):
    role: Literal["system", "user", "assistant"]
    content: str


class Complete(msgspec.Struct, frozen=True, kw_only=True, tag="provider.complete"):
    messages: list[ChatMessage]
    strategy: str | None = None
    """priority, intelligent, round_robin, fastest or cheapest (None: the node's)."""
    providers: list[str] | None = None
    """Only these providers (None: every one)."""
    max_tokens: int | None = None
    temperature: float | None = None
    stream_to: str | None = None
    meta: Meta = Meta()


class ConfigureProvider(msgspec.Struct, frozen=True, kw_only=True, tag="provider.configure"):
    provider: str
    priority: int | None = None
    timeout: float | None = None
    enabled: bool | None = None
    max_retries: int | None = None
    rpm: int | None = None
    tpm: int | None = None
    model: str | None = None
    meta: Meta = Meta()


class TestProvider(msgspec.Struct, frozen=True, kw_only=True, tag="provider.test"):
    provider: str
    meta: Meta = Meta()


class StreamPiece(msgspec.Struct, frozen=True, kw_only=True):
    """One message on a Complete's `stream_to` subject."""

    kind: Literal["delta", "attempt", "error"]
    text: str = ""
    provider: str | None = None
    outcome: str | None = None
    reason: str | None = None


ProviderCommand = Complete | ConfigureProvider | TestProvider

stream_piece_encoder = msgspec.msgpack.Encoder()
stream_piece_decoder = msgspec.msgpack.Decoder(StreamPiece)
