"""POST /ai-providers/{id}/test: is the provider reachable, does it take our key, may
we use the configured model, and does it answer a simple question sensibly?

Each check passes or fails with its reason; a later check that cannot run after an
earlier failure is `skipped`. A provider without a key is not called at all. The one
completion goes through the provider's actor like any call (admission, breaker, a
`provider.called` event with call id `test-...`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from actors.providers.catalog import ProviderConfig
from actors.providers.clients.base import ChatClient, ChatRequest, ChatResult, Message
from actors.providers.errors import FailureKind, ProviderError
from events.envelope import Meta
from events.ids import new_prefixed_id

_QUESTION = "Reply with the single word: pong"
_CHECKS = ("connectivity", "authentication", "model_access", "response_quality")

Call = Callable[[ChatRequest, str, Meta], Awaitable[Any]]


async def run_checks(
    config: ProviderConfig, configured: bool, client: ChatClient, call: Call
) -> dict[str, Any]:
    results: dict[str, dict[str, str]] = {}
    started = time.perf_counter()

    def mark(check: str, outcome: str, reason: str = "") -> None:
        results[check] = {"result": outcome, "reason": reason}

    def rest(reason: str) -> None:
        for check in _CHECKS:
            results.setdefault(check, {"result": "skipped", "reason": reason})

    if not configured:
        variables = [f"AMAS_PROVIDER_{config.id.upper()}_API_KEY", *config.spec.key_variables]
        why = (
            f"the local server at {config.base_url} does not answer"
            if config.spec.local
            else f"no API key: set {' or '.join(variables)}"
        )
        mark("connectivity", "skipped", why)
        rest(why)
        return _answer(config, results, started, "unconfigured")
    try:
        models = await client.models(timeout=config.timeout)
    except ProviderError as e:
        if e.kind in (FailureKind.CONNECTION, FailureKind.TIMEOUT):
            mark("connectivity", "fail", e.message)
            rest("not reachable")
            return _answer(config, results, started, "failed")
        mark("connectivity", "pass", f"answered HTTP {e.status}")
        if e.kind == FailureKind.AUTH:
            mark("authentication", "fail", e.message)
            rest("the key was refused")
            return _answer(config, results, started, "failed")
        mark("authentication", "pass", f"not refused (HTTP {e.status} on the model list)")
        models = []
    else:
        mark("connectivity", "pass", f"{config.base_url} answered")
        mark("authentication", "pass", "the model list was served for this key")
    request = ChatRequest(messages=[Message("user", _QUESTION)], model=config.model, max_tokens=16)
    answer = await call(request, new_prefixed_id("test"), Meta(actor="provider-test"))
    if isinstance(answer, str):  # not admitted: cooling down, breaker open, limits
        mark("model_access", "skipped", f"the provider is {answer} now")
        rest(f"the provider is {answer} now")
        return _answer(config, results, started, "failed")
    if isinstance(answer, ProviderError):
        check = "authentication" if answer.kind == FailureKind.AUTH else "model_access"
        mark(check, "fail", answer.message)
        rest(f"the completion failed: {answer.kind}")
        return _answer(config, results, started, "failed")
    assert isinstance(answer, ChatResult)
    listed = not models or config.model in models or answer.model in models
    mark("model_access", "pass", f"{answer.model} answered" + ("" if listed else " (unlisted)"))
    sensible = "pong" in answer.content.lower()
    mark(
        "response_quality",
        "pass" if sensible else "fail",
        f"asked for 'pong', got {answer.content[:80]!r}",
    )
    return _answer(config, results, started, "success" if sensible else "failed")


def _answer(
    config: ProviderConfig, results: dict[str, dict[str, str]], started: float, status: str
) -> dict[str, Any]:
    return {
        "provider_id": config.id,
        "test_status": status,
        "response_time": round(time.perf_counter() - started, 3),
        "test_results": {check: results[check]["result"] for check in _CHECKS},
        "reasons": {check: results[check]["reason"] for check in _CHECKS},
        "model": config.model,
    }
