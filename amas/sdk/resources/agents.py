"""client.agents: the fleet, one agent, its configuration."""

from __future__ import annotations

from amas.sdk._call import Req, body
from amas.sdk._endpoint import M, Resource, endpoint
from amas.sdk._parse import as_list, as_model
from amas.sdk.models.agents import Agent, AgentConfigUpdate, AgentSummary


class Agents(Resource[M]):
    prefix = "/agents"

    @endpoint("GET", "")
    def list(self) -> Req[list[AgentSummary]]:
        return Req(as_list("agents", AgentSummary))

    @endpoint("GET", "/{agent_id}")
    def get(self, agent_id: str) -> Req[Agent]:
        return Req(as_model(Agent), path_params={"agent_id": agent_id})

    @endpoint("PUT", "/{agent_id}/config")
    def configure(
        self,
        agent_id: str,
        *,
        timeout: float | None = None,
        max_concurrent_tasks: int | None = None,
        priority: str | None = None,
    ) -> Req[AgentConfigUpdate]:
        """Change what is given (an admin key)."""
        return Req(
            as_model(AgentConfigUpdate),
            path_params={"agent_id": agent_id},
            json=body(
                timeout=timeout, max_concurrent_tasks=max_concurrent_tasks, priority=priority
            ),
        )
