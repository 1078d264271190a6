"""Optimizer commands (`amas.cmd.optimizer.*`), owned by the optimizer."""

from __future__ import annotations

import msgspec

from events.envelope import Meta

APPLY_OPTIMIZATION = "amas.cmd.optimizer.apply"


class ApplyOptimization(msgspec.Struct, frozen=True, kw_only=True, tag="optimizer.apply"):
    """An operator applies a recommendation (`rl.action` with applied false)."""

    action_id: str
    meta: Meta = Meta()


LearningCommand = ApplyOptimization
