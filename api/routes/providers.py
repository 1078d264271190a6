"""/ai-providers: the AI providers, their health, configuration and a live test.

Configuration and live state (status, breaker, cool-downs) come from the node's provider
actors through the port; what the calls did (counts, latency, tokens, cost, last use)
from the `providers` projection. No key is ever shown: `api_key_set` says if one is.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.auth.scopes import ADMIN, READ, WRITE
from api.deps import port_of, request_meta
from api.errors import ApiError, check
from api.port import NodePort
from api.schemas import ProviderConfigBody
from events.commands import CONFIGURE_PROVIDER, TEST_PROVIDER, ConfigureProvider, TestProvider
from events.queries import providers as queries
from events.vocabulary import ErrorCode

router = APIRouter(prefix="/ai-providers", tags=["ai-providers"])

_TEST_TIMEOUT = 120.0


def _metrics(row: dict[str, Any] | None) -> dict[str, Any]:
    total = row["total_requests"] if row else 0
    return {
        "total_requests": total,
        "successful_requests": row["successful_requests"] if row else 0,
        "failed_requests": row["failed_requests"] if row else 0,
        "success_rate": round(row["successful_requests"] / total, 4) if row and total else None,
        "avg_response_time": round(row["latency_ms_total"] / total / 1000, 3)
        if row and total
        else None,
        "avg_tokens_used": round((row["prompt_tokens"] + row["completion_tokens"]) / total, 1)
        if row and total
        else None,
        "prompt_tokens": row["prompt_tokens"] if row else 0,
        "completion_tokens": row["completion_tokens"] if row else 0,
        "cost_usd": round(row["cost_usd"], 6) if row else 0.0,
        "outcomes": row["outcomes"] if row else {},
        "consecutive_failures": row["consecutive_failures"] if row else 0,
        "last_used": row["last_used"] if row else None,
    }


def _health(provider: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    status = provider["status"]
    if status == "unconfigured":
        health = "unconfigured"
    elif status in ("failed", "quota_exhausted") or provider["breaker"] == "open":
        health = "unhealthy"
    elif (
        status == "rate_limited"
        or provider["breaker"] == "half_open"
        or metrics["consecutive_failures"]
    ):
        health = "degraded"
    else:
        health = "healthy"
    return {
        "status": health,
        "breaker": provider["breaker"],
        "success_rate": metrics["success_rate"],
        "avg_response_time": metrics["avg_response_time"],
        "last_checked": metrics["last_used"],
        "consecutive_failures": metrics["consecutive_failures"],
        "rate_limited": status == "rate_limited",
        "cooling_for_s": provider["cooling_until_s"],
    }


async def _board(port: NodePort) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    return port.ai_providers(), await queries.provider_rows(port.reader)


@router.get("", dependencies=[READ])
async def list_providers(request: Request) -> dict[str, Any]:
    board, rows = await _board(port_of(request))
    providers = board["providers"]
    shown = []
    for p in providers:
        metrics = _metrics(rows.get(p["id"]))
        shown.append(
            {
                "id": p["id"],
                "name": p["name"],
                "status": p["status"],
                "priority": p["priority"],
                "provider_type": p["provider_type"],
                "model": p["configuration"]["model"],
                "health": _health(p, metrics),
            }
        )
    return {
        "total_providers": len(providers),
        "active_providers": sum(p["status"] == "active" for p in providers),
        "providers": shown,
        "fallback_chain": board["fallback_chain"],
        "selection_strategy": board["strategy"],
    }


@router.get("/status", dependencies=[READ])
async def provider_status(request: Request) -> dict[str, Any]:
    board, rows = await _board(port_of(request))
    providers = board["providers"]
    shown = []
    for p in providers:
        metrics = _metrics(rows.get(p["id"]))
        shown.append(
            {
                "name": p["id"],
                "priority": p["priority"],
                "status": p["status"],
                "breaker": p["breaker"],
                "response_time": metrics["avg_response_time"],
                "success_rate": metrics["success_rate"],
                "last_used": metrics["last_used"],
            }
        )
    return {
        "providers": shown,
        "failover_strategy": board["strategy"],
        "total_providers": len(providers),
        "active_providers": sum(p["status"] == "active" for p in providers),
    }


def _provider_or_404(board: dict[str, Any], provider_id: str) -> dict[str, Any]:
    for provider in board["providers"]:
        if provider["id"] == provider_id:
            found: dict[str, Any] = provider
            return found
    raise ApiError(
        ErrorCode.NOT_FOUND,
        f"AI provider {provider_id!r} not found",
        {"provider": provider_id, "known": [p["id"] for p in board["providers"]]},
    )


@router.get("/{provider_id}", dependencies=[READ])
async def get_provider(provider_id: str, request: Request) -> dict[str, Any]:
    port = port_of(request)
    board, rows = await _board(port)
    provider = _provider_or_404(board, provider_id)
    metrics = _metrics(rows.get(provider_id))
    return {
        "id": provider["id"],
        "name": provider["name"],
        "status": provider["status"],
        "priority": provider["priority"],
        "enabled": provider["enabled"],
        "provider_type": provider["provider_type"],
        "configuration": provider["configuration"],
        "metrics": metrics,
        "health": _health(provider, metrics),
        "rate_limits": provider["rate_limits"],
        "usage_by_key": [
            {k: v for k, v in usage.items() if k != "provider"}
            for usage in await queries.usage_by_key(port.reader)
            if usage["provider"] == provider_id
        ],
    }


@router.put("/{provider_id}/config", dependencies=[ADMIN])
async def configure_provider(
    provider_id: str, body: ProviderConfigBody, request: Request
) -> dict[str, Any]:
    port = port_of(request)
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise ApiError(
            ErrorCode.INVALID_REQUEST,
            "nothing to change: give priority, timeout, enabled, max_retries, rpm, tpm or model",
        )
    _provider_or_404(port.ai_providers(), provider_id)
    command = ConfigureProvider(provider=provider_id, meta=request_meta(request), **changes)
    check(await port.send(CONFIGURE_PROVIDER, command))
    provider = _provider_or_404(port.ai_providers(), provider_id)
    configuration = provider["configuration"]
    return {
        "provider": provider_id,
        "config": {
            "priority": provider["priority"],
            "timeout": configuration["timeout"],
            "enabled": provider["enabled"],
            "max_retries": configuration["max_retries"],
            "model": configuration["model"],
            "rpm": provider["rate_limits"]["requests_per_minute"],
            "tpm": provider["rate_limits"]["tokens_per_minute"],
        },
        "status": "updated",
        "message": "Provider configuration updated successfully",
    }


@router.post("/{provider_id}/test", dependencies=[WRITE])
async def test_provider(provider_id: str, request: Request) -> dict[str, Any]:
    port = port_of(request)
    _provider_or_404(port.ai_providers(), provider_id)
    command = TestProvider(provider=provider_id, meta=request_meta(request))
    reply = check(await port.send(TEST_PROVIDER, command, timeout=_TEST_TIMEOUT))
    return reply.data
