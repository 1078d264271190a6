"""The AI providers' read models: one row per provider, one per (API key, provider).

`providers`: what the calls cost and how they went (requests, successes, failures,
latency, tokens, cost, last use, failures in a row), the operator's configuration
changes, and the last state the breaker or a cool-down put it in. `provider_usage`:
calls, tokens and cost per API key and provider. Both fold only provider.* events, so a
replay gives the same rows and calls no provider.
"""

from __future__ import annotations

from typing import ClassVar

from events.envelope import Event
from events.projections.base import Row, RowProjection
from events.projections.tasks import iso
from events.types import ProviderCalled, ProviderConfigured, ProviderStateChanged

_CONFIG_FIELDS = ("priority", "timeout", "enabled", "max_retries", "rpm", "tpm", "model")


class ProvidersProjection(RowProjection):
    name: ClassVar[str] = "providers"
    version: ClassVar[int] = 1
    event_types: ClassVar[frozenset[str] | None] = frozenset(
        {"provider.called", "provider.configured", "provider.state"}
    )
    tables: ClassVar[tuple[str, ...]] = ("providers",)
    table: ClassVar[str] = "providers"
    key: ClassVar[str] = "provider"
    columns: ClassVar[tuple[str, ...]] = (
        "provider",
        "config",
        "total_requests",
        "successful_requests",
        "failed_requests",
        "latency_ms_total",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "last_used",
        "last_outcome",
        "consecutive_failures",
        "outcomes",
        "breaker",
        "status",
        "status_reason",
        "status_until",
        "updated_at",
    )
    json_columns: ClassVar[frozenset[str]] = frozenset({"config", "outcomes"})

    def schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS providers (
            provider             TEXT PRIMARY KEY,
            config               TEXT NOT NULL,
            total_requests       INTEGER NOT NULL,
            successful_requests  INTEGER NOT NULL,
            failed_requests      INTEGER NOT NULL,
            latency_ms_total     REAL NOT NULL,
            prompt_tokens        INTEGER NOT NULL,
            completion_tokens    INTEGER NOT NULL,
            cost_usd             REAL NOT NULL,
            last_used            TEXT,
            last_outcome         TEXT,
            consecutive_failures INTEGER NOT NULL,
            outcomes             TEXT NOT NULL,
            breaker              TEXT NOT NULL,
            status               TEXT NOT NULL,
            status_reason        TEXT NOT NULL,
            status_until         TEXT,
            updated_at           TEXT NOT NULL
        );
        """

    def key_of(self, event: Event) -> str | None:
        provider: str = event.data.provider
        return provider

    def fold(self, row: Row | None, event: Event) -> Row | None:
        data, at = event.data, iso(event.ts)
        row = row or {
            "provider": data.provider,
            "config": {},
            "total_requests": 0,
            "successful_requests": 0,
            "failed_requests": 0,
            "latency_ms_total": 0.0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cost_usd": 0.0,
            "last_used": None,
            "last_outcome": None,
            "consecutive_failures": 0,
            "outcomes": {},
            "breaker": "closed",
            "status": "active",
            "status_reason": "",
            "status_until": None,
        }
        row["updated_at"] = at
        match data:
            case ProviderCalled():
                ok = data.outcome == "ok"
                row["total_requests"] += 1
                row["successful_requests" if ok else "failed_requests"] += 1
                row["latency_ms_total"] += data.latency_ms
                row["prompt_tokens"] += data.prompt_tokens
                row["completion_tokens"] += data.completion_tokens
                row["cost_usd"] += data.cost_usd
                row.update(last_used=at, last_outcome=data.outcome, breaker=data.breaker)
                row["consecutive_failures"] = 0 if ok else row["consecutive_failures"] + 1
                outcomes = row["outcomes"]
                outcomes[data.outcome] = outcomes.get(data.outcome, 0) + 1
            case ProviderConfigured():
                for name in _CONFIG_FIELDS:
                    value = getattr(data, name)
                    if value is not None:
                        row["config"][name] = value
            case ProviderStateChanged():
                row.update(
                    breaker=data.breaker,
                    status=data.status,
                    status_reason=data.reason,
                    status_until=data.until,
                )
        return row


class ProviderUsageProjection(RowProjection):
    name: ClassVar[str] = "provider_usage"
    version: ClassVar[int] = 1
    event_types: ClassVar[frozenset[str] | None] = frozenset({"provider.called"})
    tables: ClassVar[tuple[str, ...]] = ("provider_usage",)
    table: ClassVar[str] = "provider_usage"
    key: ClassVar[str] = "usage_key"
    columns: ClassVar[tuple[str, ...]] = (
        "usage_key",
        "api_key_id",
        "provider",
        "calls",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
    )

    def schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS provider_usage (
            usage_key         TEXT PRIMARY KEY,
            api_key_id        TEXT NOT NULL,
            provider          TEXT NOT NULL,
            calls             INTEGER NOT NULL,
            prompt_tokens     INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            cost_usd          REAL NOT NULL
        );
        """

    def key_of(self, event: Event) -> str | None:
        data = event.data
        return f"{data.api_key_id or ''} {data.provider}"

    def fold(self, row: Row | None, event: Event) -> Row | None:
        data = event.data
        assert isinstance(data, ProviderCalled)
        row = row or {
            "usage_key": f"{data.api_key_id or ''} {data.provider}",
            "api_key_id": data.api_key_id or "",
            "provider": data.provider,
            "calls": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cost_usd": 0.0,
        }
        row["calls"] += 1
        row["prompt_tokens"] += data.prompt_tokens
        row["completion_tokens"] += data.completion_tokens
        row["cost_usd"] += data.cost_usd
        return row
