"""The `learning` read model: the decision engine's model and the optimizer's record.

`learning_model` holds the decision engine's `Model` (events/learning.py) as one JSON
document, rewritten by each batch that changes it: the scheduler restores its model from
it, and `GET /ml/decision-engine/status` reads it. `optimizer_rounds` and
`optimizer_actions` keep the optimizer's training rounds, its actions and their rewards
for `GET /rl/optimizer/status`; `caching` which task types have result caching on, and
`result_cache` which task computed the result for each cache key; `ml_decisions` the
latest RECENT decisions as the status shows them (kept out of the model, which the
scheduler does not need them in and each batch would write again).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import ClassVar

from events.envelope import Event
from events.learning import FOLDED, Model, model_decoder, model_encoder
from events.projections.base import Projection
from events.projections.tasks import iso

RECENT = 10
"""The latest decisions kept for the status."""

_LOAD = "SELECT model FROM learning_model WHERE id = 1"
_SAVE = "INSERT OR REPLACE INTO learning_model (id, position, model) VALUES (1, ?, ?)"


class LearningProjection(Projection):
    name: ClassVar[str] = "learning"
    version: ClassVar[int] = 2
    event_types: ClassVar[frozenset[str] | None] = FOLDED | {
        "rl.trained",
        "rl.action",
        "rl.reward",
        "cache.configured",
    }
    tables: ClassVar[tuple[str, ...]] = (
        "learning_model",
        "optimizer_rounds",
        "optimizer_actions",
        "caching",
        "result_cache",
        "ml_decisions",
    )

    def __init__(self) -> None:
        self._model: Model | None = None

    def schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS learning_model (
            id       INTEGER PRIMARY KEY,
            position INTEGER NOT NULL,
            model    TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS optimizer_rounds (
            position          INTEGER PRIMARY KEY,
            at                TEXT NOT NULL,
            episodes          INTEGER NOT NULL,
            avg_reward        REAL NOT NULL,
            exploration_rate  REAL NOT NULL,
            learning_rate     REAL NOT NULL,
            policy_reward     REAL NOT NULL,
            static_reward     REAL NOT NULL,
            improvement       REAL NOT NULL,
            workload          TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS ml_decisions (
            position INTEGER PRIMARY KEY,
            decision TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS caching (
            task_type TEXT PRIMARY KEY,
            enabled   INTEGER NOT NULL,
            position  INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS result_cache (
            cache_key TEXT PRIMARY KEY,
            task_id   TEXT NOT NULL,
            position  INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS optimizer_actions (
            action_id        TEXT PRIMARY KEY,
            position         INTEGER NOT NULL,
            at               TEXT NOT NULL,
            action           TEXT NOT NULL,
            target           TEXT NOT NULL,
            value            TEXT,
            applied          INTEGER NOT NULL,
            by_whom          TEXT NOT NULL,
            recommendation   TEXT,
            expected_reward  REAL NOT NULL,
            state            TEXT NOT NULL,
            reward           REAL,
            impact           TEXT,
            judged_at        TEXT
        );
        """

    def forget(self) -> None:
        self._model = None

    def apply(self, db: sqlite3.Connection, events: Sequence[Event]) -> None:
        model = self._model
        if model is None:
            row = db.execute(_LOAD).fetchone()
            model = model_decoder.decode(row[0]) if row else Model()
        changed = False
        decided: list[tuple[int, str]] = []
        for event in events:
            if event.type.startswith("rl."):
                _optimizer(db, event)
                continue
            if event.type == "cache.configured":
                db.execute(
                    "INSERT OR REPLACE INTO caching VALUES (?, ?, ?)",
                    (event.data.task_type, int(event.data.enabled), event.position),
                )
                continue
            if (
                event.type == "task.completed"
                and event.data.cache_key
                and not event.data.cached_from
            ):
                db.execute(
                    "INSERT OR REPLACE INTO result_cache VALUES (?, ?, ?)",
                    (event.data.cache_key, event.data.task_id, event.position),
                )
            if model.apply(event):
                changed = True
                if event.type == "ml.decision":
                    decided.append((event.position, _encode(Model.shown(event.data))))
        if decided:
            db.executemany("INSERT OR REPLACE INTO ml_decisions VALUES (?, ?)", decided[-RECENT:])
            db.execute(
                "DELETE FROM ml_decisions WHERE position <"
                " (SELECT position FROM ml_decisions ORDER BY position DESC LIMIT 1 OFFSET ?)",
                (RECENT - 1,),
            )
        if changed:
            db.execute(_SAVE, (model.position, _encode(model)))
        self._model = model


def _optimizer(db: sqlite3.Connection, event: Event) -> None:
    data = event.data
    at = iso(event.ts)
    match event.type:
        case "rl.trained":
            db.execute(
                "INSERT OR REPLACE INTO optimizer_rounds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.position,
                    at,
                    data.episodes,
                    data.avg_reward,
                    data.exploration_rate,
                    data.learning_rate,
                    data.policy_reward,
                    data.static_reward,
                    data.improvement,
                    _encode(data.workload),
                ),
            )
        case "rl.action":
            db.execute(
                "INSERT OR REPLACE INTO optimizer_actions (action_id, position, at, action,"
                " target, value, applied, by_whom, recommendation, expected_reward, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    data.action_id,
                    event.position,
                    at,
                    data.action,
                    data.target,
                    None if data.value is None else _encode(data.value),
                    int(data.applied),
                    data.by,
                    data.recommendation_id,
                    data.expected_reward,
                    _encode(data.state),
                ),
            )
        case "rl.reward":
            db.execute(
                "UPDATE optimizer_actions SET reward = ?, impact = ?, judged_at = ?"
                " WHERE action_id = ?",
                (data.reward, data.impact, at, data.action_id),
            )


def _encode(value: object) -> str:
    return model_encoder.encode(value).decode()
