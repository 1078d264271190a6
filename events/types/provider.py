"""Events of the AI providers (stream `provider-<id>`).

A call's event holds the sizes and a digest of the prompt, never its text and never a
key: the log is for auditors, and a prompt may carry what its sender would not log.
"""

from __future__ import annotations

from typing import ClassVar

from events.envelope import EventData


class ProviderCalled(EventData, frozen=True, kw_only=True):
    """One attempt at one provider: what it cost, how it ended, the breaker after it."""

    type_name: ClassVar[str] = "provider.called"

    provider: str
    model: str
    call_id: str
    """The router's call this attempt belongs to (several attempts share it)."""
    attempt: int
    outcome: str
    """ok, or the failure's class (rate_limited, quota_exhausted, server_error ...)."""
    latency_ms: float
    status: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    breaker: str = "closed"
    prompt_messages: int = 0
    prompt_chars: int = 0
    prompt_digest: str = ""
    """sha256 of the messages (role and content), hex."""
    stream: bool = False
    error: str | None = None
    api_key_id: str | None = None


class ProviderConfigured(EventData, frozen=True, kw_only=True):
    """An operator changed a provider's settings (PUT /ai-providers/{id}/config).
    Only what was set is given; None leaves a setting as it was."""

    type_name: ClassVar[str] = "provider.configured"

    provider: str
    priority: int | None = None
    timeout: float | None = None
    enabled: bool | None = None
    max_retries: int | None = None
    rpm: int | None = None
    tpm: int | None = None
    model: str | None = None


class ProviderStateChanged(EventData, frozen=True, kw_only=True):
    """The provider's breaker moved (closed, open, half_open), or it cooled down for a
    reason of its own (rate_limited, quota_exhausted, failed) until `until`."""

    type_name: ClassVar[str] = "provider.state"

    provider: str
    breaker: str
    status: str
    """active, rate_limited, quota_exhausted, failed or open."""
    reason: str = ""
    until: str | None = None
    """UTC ISO 8601: when it may be tried again."""
