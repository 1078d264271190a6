"""The providers as the edge shows them: configuration without keys, and live state."""

from __future__ import annotations

import time
from typing import Any

from actors.providers.catalog import FALLBACK_CHAIN
from actors.providers.clients import OPENAI
from actors.providers.decide import status_of
from actors.providers.pool import ProviderPool


def usable(pool: ProviderPool) -> frozenset[str]:
    """The providers a call may go to at all: configured (a key, or a local server that
    answers) and enabled; each may still be open or cooling down."""
    return frozenset(
        pid
        for pid, recorded in pool.board.items()
        if recorded.view.configured and recorded.config.enabled
    )


def provider_board(pool: ProviderPool) -> dict[str, Any]:
    now = time.monotonic()
    providers = []
    for pid in pool.configs:
        recorded = pool.board.get(pid)
        if recorded is None:  # its actor is (re)starting
            continue
        config, view = recorded.config, recorded.view
        providers.append(
            {
                "id": pid,
                "name": config.spec.name,
                "status": status_of(view, now),
                "priority": config.priority,
                "provider_type": "openai_compatible"
                if config.spec.style == OPENAI
                else config.spec.style,
                "configured": view.configured,
                "enabled": config.enabled,
                "local": config.spec.local,
                "breaker": recorded.breaker,
                "cooling_until_s": round(view.cooling_until - now, 3)
                if view.cooling_until > now
                else None,
                "latency_ms": round(recorded.latency_ms, 3) if recorded.latency_ms else None,
                "configuration": {
                    "endpoint": config.base_url,
                    "model": config.model,
                    "timeout": config.timeout,
                    "max_retries": config.max_retries,
                    "context_window": config.context_window,
                    "price_in_per_mtok": config.price_in,
                    "price_out_per_mtok": config.price_out,
                    "api_key_set": config.api_key is not None,
                },
                "rate_limits": recorded.limits,
            }
        )
    providers.sort(key=lambda p: (p["priority"], p["id"]))
    return {
        "strategy": pool.settings.strategy,
        "retry_budget": pool.settings.retry_budget,
        "fallback_chain": [p["id"] for p in providers],
        "seed_chain": list(FALLBACK_CHAIN),
        "providers": providers,
    }
