"""System-wide events (stream `system`)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from events.envelope import EventData

AlertLevel = Literal["info", "warning", "error", "critical"]


class SystemAlerted(EventData, frozen=True, kw_only=True):
    """An alert raised, or (`cleared`) the same alert ending: one code for both, so a
    subscriber keeps the active ones by (code, subject) without a table of pairs."""

    type_name: ClassVar[str] = "system.alert"

    level: AlertLevel
    code: str
    message: str
    details: dict[str, Any] = {}
    subject: str = ""
    """What the alert is about (a provider, an agent, a webhook id); empty: the node."""
    cleared: bool = False
    """True: the condition `code` named for `subject` is over (level info)."""
