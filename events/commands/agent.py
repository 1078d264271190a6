"""Agent commands (`amas.cmd.agent.*`), owned by each agent."""

from __future__ import annotations

import msgspec

from events.envelope import Meta
from events.vocabulary import Priority

CONFIGURE_AGENT = "amas.cmd.agent.configure"


class ConfigureAgent(msgspec.Struct, frozen=True, kw_only=True, tag="agent.configure"):
    agent_id: str
    timeout: float | None = None
    max_concurrent_tasks: int | None = None
    priority: Priority | None = None
    meta: Meta = Meta()


AgentCommand = ConfigureAgent
