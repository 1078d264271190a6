"""AI providers: the board, one provider's configuration and metrics, a live test."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from amas.sdk.models._base import Model


@dataclass(frozen=True, kw_only=True)
class ProviderHealth(Model):
    status: str
    """healthy, degraded, unhealthy or unconfigured."""
    breaker: str = "closed"
    success_rate: float | None = None
    avg_response_time: float | None = None
    last_checked: datetime | None = None
    consecutive_failures: int = 0
    rate_limited: bool = False
    cooling_for_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class ProviderSummary(Model):
    id: str
    name: str
    status: str
    """active, unconfigured, disabled, rate_limited, quota_exhausted or failed."""
    priority: int
    provider_type: str = ""
    model: str | None = None
    health: ProviderHealth | None = None


@dataclass(frozen=True, kw_only=True)
class ProviderList(Model):
    total_providers: int
    active_providers: int
    providers: list[ProviderSummary] = field(default_factory=list)
    fallback_chain: list[str] = field(default_factory=list)
    selection_strategy: str = ""


@dataclass(frozen=True, kw_only=True)
class ProviderState(Model):
    name: str
    priority: int
    status: str
    breaker: str = "closed"
    response_time: float | None = None
    success_rate: float | None = None
    last_used: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ProviderStatus(Model):
    providers: list[ProviderState] = field(default_factory=list)
    failover_strategy: str = ""
    total_providers: int = 0
    active_providers: int = 0


@dataclass(frozen=True, kw_only=True)
class ProviderMetrics(Model):
    total_requests: int = 0
    successful_requests: int = 0
    failed_requests: int = 0
    success_rate: float | None = None
    avg_response_time: float | None = None
    avg_tokens_used: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    consecutive_failures: int = 0
    last_used: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Provider(Model):
    id: str
    name: str
    status: str
    priority: int
    enabled: bool = True
    provider_type: str = ""
    configuration: dict[str, Any] = field(default_factory=dict)
    """endpoint, model, timeout, max_retries, prices, `api_key_set` (never the key)."""
    metrics: ProviderMetrics | None = None
    health: ProviderHealth | None = None
    rate_limits: dict[str, Any] = field(default_factory=dict)
    usage_by_key: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ProviderConfigUpdate(Model):
    provider: str
    config: dict[str, Any]
    status: str
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class ProviderTest(Model):
    provider_id: str
    test_status: str
    response_time: float | None = None
    test_results: dict[str, str] = field(default_factory=dict)
    """connectivity, authentication, model_access, response_quality: pass, fail or skipped."""
    reasons: dict[str, str] = field(default_factory=dict)
    model: str | None = None
