"""System-wide events (stream `system`)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from events.envelope import EventData


class SystemAlerted(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "system.alert"

    level: Literal["info", "warning", "error", "critical"]
    code: str
    message: str
    details: dict[str, Any] = {}
