"""client.learning: the decision engine (`/ml/...`) and the optimizer (`/rl/...`)."""

from __future__ import annotations

from amas.sdk._call import Req
from amas.sdk._endpoint import M, Resource, endpoint
from amas.sdk._parse import as_model
from amas.sdk.models.learning import DecisionEngineStatus, OptimizerAction, OptimizerStatus


class Learning(Resource[M]):
    prefix = ""

    @endpoint("GET", "/ml/decision-engine/status")
    def decision_engine_status(self) -> Req[DecisionEngineStatus]:
        return Req(as_model(DecisionEngineStatus))

    @endpoint("GET", "/rl/optimizer/status")
    def optimizer_status(self) -> Req[OptimizerStatus]:
        return Req(as_model(OptimizerStatus))

    @endpoint("POST", "/rl/optimizer/actions/{action_id}/apply")
    def apply_recommendation(self, action_id: str) -> Req[OptimizerAction]:
        """(admin) Apply a recommendation through the node's normal commands, within the
        operator's limits: the action that applied it. ConflictError once applied."""
        return Req(as_model(OptimizerAction), path_params={"action_id": action_id})
