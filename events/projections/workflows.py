"""The workflows' read models: one row per workflow, one per log line.

`workflows`: type, status, each layer's and step's state, progress (steps done of all),
the current layer, each step's output (the results), the AI providers that answered,
durations (the engine's own time per step too), the final result or error.
`workflow_logs`: the log lines (`workflow.log`, and one per layer start, completion and
failure), in log order.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from events.envelope import Event
from events.projections.base import Row, RowProjection
from events.projections.tasks import iso
from events.types import (
    WorkflowAnswered,
    WorkflowApproved,
    WorkflowCancelled,
    WorkflowCompleted,
    WorkflowConfigured,
    WorkflowFailed,
    WorkflowLogged,
    WorkflowStarted,
    WorkflowStepCompleted,
    WorkflowStepFailed,
    WorkflowStepStarted,
)

_TYPES = frozenset(
    {
        "workflow.started",
        "workflow.step_started",
        "workflow.step_completed",
        "workflow.step_failed",
        "workflow.ai_answered",
        "workflow.completed",
        "workflow.failed",
        "workflow.cancelled",
        "workflow.approved",
    }
)


class WorkflowsProjection(RowProjection):
    name: ClassVar[str] = "workflows"
    version: ClassVar[int] = 2
    event_types: ClassVar[frozenset[str] | None] = _TYPES
    tables: ClassVar[tuple[str, ...]] = ("workflows",)
    indexes: ClassVar[tuple[str, ...]] = (
        "CREATE INDEX IF NOT EXISTS workflows_status ON workflows (status, started_at)",
        "CREATE INDEX IF NOT EXISTS workflows_type ON workflows (workflow_type, started_at)",
    )
    table: ClassVar[str] = "workflows"
    key: ClassVar[str] = "workflow_id"
    columns: ClassVar[tuple[str, ...]] = (
        "workflow_id",
        "workflow_type",
        "status",
        "parameters",
        "layers",
        "steps",
        "step_layers",
        "current_layer",
        "progress",
        "outputs",
        "result",
        "error",
        "ai_providers_used",
        "estimated_duration",
        "api_key_id",
        "started_at",
        "updated_at",
        "completed_at",
        "duration_s",
    )
    json_columns: ClassVar[frozenset[str]] = frozenset(
        {"parameters", "layers", "steps", "step_layers", "outputs", "result", "ai_providers_used"}
    )

    def schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS workflows (
            workflow_id        TEXT PRIMARY KEY,
            workflow_type      TEXT NOT NULL,
            status             TEXT NOT NULL,
            parameters         TEXT NOT NULL,
            layers             TEXT NOT NULL,
            steps              TEXT NOT NULL,
            step_layers        TEXT NOT NULL,
            current_layer      TEXT,
            progress           INTEGER NOT NULL,
            outputs            TEXT NOT NULL,
            result             TEXT,
            error              TEXT,
            ai_providers_used  TEXT NOT NULL,
            estimated_duration REAL,
            api_key_id         TEXT,
            started_at         TEXT NOT NULL,
            updated_at         TEXT NOT NULL,
            completed_at       TEXT,
            duration_s         REAL
        );
        """

    def creates(self, event: Event) -> bool:
        return event.type == "workflow.started"

    def key_of(self, event: Event) -> str | None:
        workflow_id: str = event.data.workflow_id
        return workflow_id

    def fold(self, row: Row | None, event: Event) -> Row | None:
        data, at = event.data, iso(event.ts)
        if isinstance(data, WorkflowStarted):
            return {
                "workflow_id": data.workflow_id,
                "workflow_type": data.workflow_type,
                "status": "running",
                "parameters": data.parameters,
                "layers": {layer: "pending" for layer in data.layers},
                "steps": {step: {"status": "pending", "attempts": 0} for step in data.steps},
                "step_layers": {},
                "current_layer": data.layers[0] if data.layers else None,
                "progress": 0,
                "outputs": {},
                "result": None,
                "error": None,
                "ai_providers_used": [],
                "estimated_duration": data.estimated_duration,
                "api_key_id": data.api_key_id,
                "started_at": at,
                "updated_at": at,
                "completed_at": None,
                "duration_s": None,
            }
        if row is None:
            return None
        row["updated_at"] = at
        steps, layers = row["steps"], row["layers"]
        match data:
            case WorkflowStepStarted(step=step, layer=layer, attempt=attempt):
                steps[step] = {**steps.get(step, {}), "status": "running", "attempts": attempt}
                row["step_layers"][step] = layer
                layers[layer] = "running"
                row["current_layer"] = layer
            case WorkflowStepCompleted(step=step, layer=layer, output=output):
                steps[step] = {
                    **steps.get(step, {}),
                    "status": "completed",
                    "duration_ms": data.duration_ms,
                    "engine_ms": data.engine_ms,
                }
                row["outputs"][step] = output
                done = [s for s, lay in row["step_layers"].items() if lay == layer]
                if all(steps[s]["status"] == "completed" for s in done):
                    layers[layer] = "completed"
                row["progress"] = (
                    100
                    * sum(s["status"] == "completed" for s in steps.values())
                    // max(len(steps), 1)
                )
            case WorkflowStepFailed(step=step, layer=layer, error=error, retry_in=retry_in):
                steps[step] = {**steps.get(step, {}), "last_error": error}
                if retry_in is None:
                    steps[step]["status"] = "failed"
                    layers[layer] = "failed"
            case WorkflowAnswered(provider=provider):
                if provider is not None and provider not in row["ai_providers_used"]:
                    row["ai_providers_used"].append(provider)
            case WorkflowCompleted(result=result):
                row.update(status="completed", result=result, progress=100, current_layer=None)
                self._ended(row, at, event)
            case WorkflowFailed(error=error):
                row.update(status="failed", error=error)
                self._ended(row, at, event)
            case WorkflowApproved(output=output):
                row["result"] = {**(row["result"] or {}), "approval": output}
            case WorkflowCancelled(reason=reason):
                row.update(status="cancelled", error=reason)
                for layer, state in layers.items():
                    if state in ("pending", "running"):
                        layers[layer] = "cancelled"
                self._ended(row, at, event)
        return row

    @staticmethod
    def _ended(row: Row, at: str, event: Event) -> None:
        row["completed_at"] = at
        started = datetime.fromisoformat(row["started_at"].replace("Z", "+00:00"))
        row["duration_s"] = round((event.ts - started).total_seconds(), 3)


class WorkflowLogsProjection(RowProjection):
    name: ClassVar[str] = "workflow_logs"
    version: ClassVar[int] = 1
    event_types: ClassVar[frozenset[str] | None] = frozenset(
        {"workflow.log", "workflow.step_started", "workflow.step_completed", "workflow.step_failed"}
        | {"workflow.completed", "workflow.failed", "workflow.cancelled"}
    )
    tables: ClassVar[tuple[str, ...]] = ("workflow_logs",)
    indexes: ClassVar[tuple[str, ...]] = (
        "CREATE INDEX IF NOT EXISTS workflow_logs_by ON workflow_logs (workflow_id, position)",
    )
    table: ClassVar[str] = "workflow_logs"
    key: ClassVar[str] = "log_id"
    columns: ClassVar[tuple[str, ...]] = (
        "log_id",
        "workflow_id",
        "position",
        "timestamp",
        "level",
        "message",
        "layer",
    )

    def schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS workflow_logs (
            log_id      TEXT PRIMARY KEY,
            workflow_id TEXT NOT NULL,
            position    INTEGER NOT NULL,
            timestamp   TEXT NOT NULL,
            level       TEXT NOT NULL,
            message     TEXT NOT NULL,
            layer       TEXT
        );
        """

    def creates(self, event: Event) -> bool:
        return True

    def key_of(self, event: Event) -> str | None:
        return f"{event.data.workflow_id}:{event.position:012d}"

    def fold(self, row: Row | None, event: Event) -> Row | None:
        data = event.data
        level, layer = "info", getattr(data, "layer", None)
        match data:
            case WorkflowLogged(level=level, message=message):
                pass
            case WorkflowStepStarted(step=step, attempt=attempt):
                message = f"{step} started" + (f" (attempt {attempt})" if attempt > 1 else "")
            case WorkflowStepCompleted(step=step, duration_ms=ms):
                message = f"{step} completed in {ms / 1000:.2f} s"
            case WorkflowStepFailed(step=step, error=error, retry_in=retry_in):
                level = "warning" if retry_in is not None else "error"
                again = f"; again in {retry_in:g} s" if retry_in is not None else ""
                message = f"{step} failed: {error}{again}"
            case WorkflowCompleted():
                message = "workflow completed"
            case WorkflowFailed(error=error):
                level, message = "error", f"workflow failed: {error}"
            case WorkflowCancelled(reason=reason):
                level, message = "warning", f"workflow cancelled: {reason}"
            case _:
                return None
        return {
            "log_id": f"{data.workflow_id}:{event.position:012d}",
            "workflow_id": data.workflow_id,
            "position": event.position,
            "timestamp": iso(event.ts),
            "level": level,
            "message": message,
            "layer": layer,
        }


class WorkflowConfigProjection(RowProjection):
    """Each workflow type's settings as operators last set them (workflow.configured)."""

    name: ClassVar[str] = "workflow_config"
    version: ClassVar[int] = 1
    event_types: ClassVar[frozenset[str] | None] = frozenset({"workflow.configured"})
    tables: ClassVar[tuple[str, ...]] = ("workflow_config",)
    table: ClassVar[str] = "workflow_config"
    key: ClassVar[str] = "workflow_type"
    columns: ClassVar[tuple[str, ...]] = ("workflow_type", "settings", "updated_at")
    json_columns: ClassVar[frozenset[str]] = frozenset({"settings"})

    def schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS workflow_config (
            workflow_type TEXT PRIMARY KEY,
            settings      TEXT NOT NULL,
            updated_at    TEXT NOT NULL
        );
        """

    def creates(self, event: Event) -> bool:
        return False

    def key_of(self, event: Event) -> str | None:
        workflow_type: str = event.data.workflow_type
        return workflow_type

    def fold(self, row: Row | None, event: Event) -> Row | None:
        data = event.data
        assert isinstance(data, WorkflowConfigured)
        return {
            "workflow_type": data.workflow_type,
            "settings": data.settings,
            "updated_at": iso(event.ts),
        }
