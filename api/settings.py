"""How the HTTP edge guards itself; the runtime reads the values and hands them over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class EdgeSettings:
    """How the HTTP edge guards itself. `from_env()` reads the AMAS_* variables."""

    auth: bool = True
    """AMAS_AUTH=off turns off keys and rate limits (allowed on a loopback address only)."""
    cors_origins: tuple[str, ...] = ()
    """AMAS_CORS_ORIGINS: comma-separated origins allowed by CORS; none by default."""
    max_body_bytes: int = 1 << 20
    """AMAS_MAX_BODY_BYTES: larger request bodies get 413."""
    auth_failures_per_minute: int = 10
    """AMAS_AUTH_FAILURES_PER_MINUTE: failed authentications one client may make."""
    anonymous_per_minute: int = 600
    """AMAS_ANONYMOUS_PER_MINUTE: requests to the open endpoints (health, docs) per client."""

    @classmethod
    def from_env(cls, setting: Callable[[str], str | None]) -> EdgeSettings:
        """Read from `setting` (the runtime's: the environment, else ./.env)."""

        def number(name: str, default: int) -> int:
            raw = setting(name)
            return int(raw) if raw else default

        auth = (setting("AMAS_AUTH") or "on").strip().lower()
        if auth not in {"on", "off"}:
            raise ValueError(f"AMAS_AUTH must be on or off, not {auth!r}")
        origins = setting("AMAS_CORS_ORIGINS") or ""
        return cls(
            auth=auth == "on",
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            max_body_bytes=number("AMAS_MAX_BODY_BYTES", cls.max_body_bytes),
            auth_failures_per_minute=number(
                "AMAS_AUTH_FAILURES_PER_MINUTE", cls.auth_failures_per_minute
            ),
            anonymous_per_minute=number("AMAS_ANONYMOUS_PER_MINUTE", cls.anonymous_per_minute),
        )
