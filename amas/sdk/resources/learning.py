"""client.learning: the decision engine (`/ml/...`) and the optimizer (`/rl/...`)."""

from __future__ import annotations

from amas.sdk._call import Req
from amas.sdk._endpoint import M, Resource, endpoint
from amas.sdk._parse import as_model
from amas.sdk.models.learning import DecisionEngineStatus, OptimizerStatus


class Learning(Resource[M]):
    prefix = ""

    @endpoint("GET", "/ml/decision-engine/status")
    def decision_engine_status(self) -> Req[DecisionEngineStatus]:
        return Req(as_model(DecisionEngineStatus))

    @endpoint("GET", "/rl/optimizer/status")
    def optimizer_status(self) -> Req[OptimizerStatus]:
        return Req(as_model(OptimizerStatus))
