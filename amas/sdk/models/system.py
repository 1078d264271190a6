"""The node itself: health and system information."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amas.sdk.models._base import Model


@dataclass(frozen=True, kw_only=True)
class Health(Model):
    status: str
    """healthy, or degraded (the node answered 503: a part of it is down)."""
    version: str = ""
    uptime: int = 0
    services: dict[str, str] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"


@dataclass(frozen=True, kw_only=True)
class SystemInfo(Model):
    version: str
    agents: dict[str, Any] = field(default_factory=dict)
    ai_providers: dict[str, int] = field(default_factory=dict)
    performance: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)
    event_log: dict[str, Any] = field(default_factory=dict)
