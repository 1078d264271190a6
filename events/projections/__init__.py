"""Read models built from the log."""

from events.projections.agents import AgentsProjection
from events.projections.alerts import AlertsProjection
from events.projections.apikeys import ApiKeysProjection
from events.projections.base import Projection, RowProjection
from events.projections.learning import LearningProjection
from events.projections.metrics import MetricsProjection
from events.projections.providers import ProvidersProjection, ProviderUsageProjection
from events.projections.runner import ProjectionRunner
from events.projections.tasks import TasksProjection
from events.projections.webhooks import WebhookDeliveriesProjection, WebhooksProjection
from events.projections.workflows import (
    WorkflowConfigProjection,
    WorkflowLogsProjection,
    WorkflowsProjection,
)

__all__ = [
    "AgentsProjection",
    "AlertsProjection",
    "ApiKeysProjection",
    "LearningProjection",
    "MetricsProjection",
    "Projection",
    "ProjectionRunner",
    "ProviderUsageProjection",
    "ProvidersProjection",
    "RowProjection",
    "TasksProjection",
    "WebhookDeliveriesProjection",
    "WebhooksProjection",
    "WorkflowConfigProjection",
    "WorkflowLogsProjection",
    "WorkflowsProjection",
    "all_projections",
]


def all_projections() -> list[Projection]:
    """Every projection the node runs, freshly made."""
    return [
        TasksProjection(),
        AgentsProjection(),
        ApiKeysProjection(),
        ProvidersProjection(),
        ProviderUsageProjection(),
        WorkflowsProjection(),
        WorkflowLogsProjection(),
        WorkflowConfigProjection(),
        WebhooksProjection(),
        WebhookDeliveriesProjection(),
        AlertsProjection(),
        MetricsProjection(),
        LearningProjection(),
    ]
