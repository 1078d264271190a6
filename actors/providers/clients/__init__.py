"""One client per vendor API style, made by `make_client` from the style's name.

    openai     OpenAIChatClient   base e.g. https://api.openai.com/v1 (and every compatible vendor)
    anthropic  AnthropicClient    base https://api.anthropic.com
    gemini     GeminiClient       base https://generativelanguage.googleapis.com/v1beta
    cohere     CohereClient       base https://api.cohere.com

Each module says which paths it appends to its base URL. The httpx client is the
caller's, shared by all; a client never makes its own and never logs its key.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from actors.providers.clients.anthropic import AnthropicClient
from actors.providers.clients.base import (
    ANTHROPIC,
    COHERE,
    GEMINI,
    OPENAI,
    ChatClient,
    ChatRequest,
    ChatResult,
    Delta,
    Done,
    Message,
    RateLimits,
    StreamEvent,
    Usage,
)
from actors.providers.clients.cohere import CohereClient
from actors.providers.clients.gemini import GeminiClient
from actors.providers.clients.openai_chat import OpenAIChatClient

__all__ = [
    "ANTHROPIC",
    "COHERE",
    "GEMINI",
    "OPENAI",
    "STYLES",
    "AnthropicClient",
    "ChatClient",
    "ChatRequest",
    "ChatResult",
    "CohereClient",
    "Delta",
    "Done",
    "GeminiClient",
    "Message",
    "OpenAIChatClient",
    "RateLimits",
    "StreamEvent",
    "Usage",
    "make_client",
]

STYLES = (OPENAI, ANTHROPIC, GEMINI, COHERE)


def make_client(
    style: str,
    http: httpx.AsyncClient,
    base_url: str,
    api_key: str | None,
    extra_headers: Mapping[str, str] | None = None,
    *,
    stream_usage: bool = True,
) -> ChatClient:
    """The client for `style`. `stream_usage=False` (openai style only) leaves
    `stream_options` out of streamed requests, for vendors that reject it."""
    match style:
        case "openai":
            return OpenAIChatClient(
                http, base_url, api_key, extra_headers, stream_usage=stream_usage
            )
        case "anthropic":
            return AnthropicClient(http, base_url, api_key, extra_headers)
        case "gemini":
            return GeminiClient(http, base_url, api_key, extra_headers)
        case "cohere":
            return CohereClient(http, base_url, api_key, extra_headers)
    raise ValueError(f"unknown API style {style!r}; known: {', '.join(STYLES)}")
