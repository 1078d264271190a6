"""What vendors' response headers say about their limits and the wait they ask for.

Below both the clients and the error translation (actors.providers.errors), which read
every answer's headers through here: OpenAI-style `x-ratelimit-*` (resets as durations
such as `12ms` or `6m0s`), Anthropic's `anthropic-ratelimit-*` (resets as RFC 3339
instants), and `retry-after-ms` / `retry-after` (seconds or an HTTP date).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import time
from collections.abc import Mapping

import msgspec


class RateLimits(msgspec.Struct, frozen=True, kw_only=True):
    """The vendor's rate-limit headers, as far as it sends them; resets in seconds from
    the moment the answer arrived."""

    requests_limit: int | None = None
    requests_remaining: int | None = None
    requests_reset_s: float | None = None
    tokens_limit: int | None = None
    tokens_remaining: int | None = None
    tokens_reset_s: float | None = None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def duration(text: str | None) -> float | None:
    """OpenAI's reset durations ("12ms", "6m0s", "1h2m3.5s") or plain seconds ("1.5")."""
    if text is None:
        return None
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _SECONDS[unit] for number, unit in parts)


def _seconds_until(text: str | None, now: float) -> float | None:
    """An RFC 3339 instant (Anthropic's resets) as seconds from `now`."""
    if text is None:
        return None
    try:
        at = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return max(0.0, at.timestamp() - now)


def _int(text: str | None) -> int | None:
    try:
        return int(float(text)) if text is not None else None
    except ValueError:
        return None


def parse_rate_limits(headers: Mapping[str, str], now: float | None = None) -> RateLimits:
    """OpenAI-style `x-ratelimit-*` or Anthropic's `anthropic-ratelimit-*` headers (names
    in lower case, or an httpx.Headers) as RateLimits; empty when the vendor sends none."""
    now = time.time() if now is None else now
    if "anthropic-ratelimit-requests-limit" in headers or (
        "anthropic-ratelimit-tokens-limit" in headers
    ):
        tokens = "tokens" if "anthropic-ratelimit-tokens-limit" in headers else "input-tokens"

        def anthropic(name: str) -> str | None:
            return headers.get(f"anthropic-ratelimit-{name}")

        return RateLimits(
            requests_limit=_int(anthropic("requests-limit")),
            requests_remaining=_int(anthropic("requests-remaining")),
            requests_reset_s=_seconds_until(anthropic("requests-reset"), now),
            tokens_limit=_int(anthropic(f"{tokens}-limit")),
            tokens_remaining=_int(anthropic(f"{tokens}-remaining")),
            tokens_reset_s=_seconds_until(anthropic(f"{tokens}-reset"), now),
        )
    return RateLimits(
        requests_limit=_int(headers.get("x-ratelimit-limit-requests")),
        requests_remaining=_int(headers.get("x-ratelimit-remaining-requests")),
        requests_reset_s=duration(headers.get("x-ratelimit-reset-requests")),
        tokens_limit=_int(headers.get("x-ratelimit-limit-tokens")),
        tokens_remaining=_int(headers.get("x-ratelimit-remaining-tokens")),
        tokens_reset_s=duration(headers.get("x-ratelimit-reset-tokens")),
    )


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """`retry-after-ms`, else `retry-after` in seconds or as an HTTP date."""
    if (ms := duration(headers.get("retry-after-ms"))) is not None:
        return ms / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    if (seconds := duration(value)) is not None:
        return seconds
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


def exhausted_reset(limits: RateLimits) -> float | None:
    """The reset of whichever limit the headers show at zero."""
    resets = [
        reset
        for remaining, reset in (
            (limits.requests_remaining, limits.requests_reset_s),
            (limits.tokens_remaining, limits.tokens_reset_s),
        )
        if remaining == 0 and reset is not None
    ]
    return max(resets, default=None)
