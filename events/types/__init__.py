"""Every event type AMAS writes; importing this package registers them all."""

from events.types.agent import AgentConfigured, AgentErrored, AgentStarted
from events.types.apikey import ApiKeyCreated, ApiKeyRevoked, ApiKeyRotated
from events.types.learning import (
    CachingConfigured,
    MlDecided,
    OptimizerActed,
    OptimizerRewarded,
    OptimizerTrained,
)
from events.types.provider import ProviderCalled, ProviderConfigured, ProviderStateChanged
from events.types.system import SystemAlerted
from events.types.task import (
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskProgressed,
    TaskRequeued,
    TaskStarted,
)
from events.types.webhook import (
    CallbackSecretSet,
    WebhookAttempted,
    WebhookCreated,
    WebhookDeleted,
    WebhookRedeliveryRequested,
    WebhookSecretRotated,
    WebhookTested,
    WebhookUpdated,
)
from events.types.workflow import (
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

__all__ = [
    "AgentConfigured",
    "AgentErrored",
    "AgentStarted",
    "ApiKeyCreated",
    "ApiKeyRevoked",
    "ApiKeyRotated",
    "CachingConfigured",
    "CallbackSecretSet",
    "MlDecided",
    "OptimizerActed",
    "OptimizerRewarded",
    "OptimizerTrained",
    "ProviderCalled",
    "ProviderConfigured",
    "ProviderStateChanged",
    "SystemAlerted",
    "TaskCancelled",
    "TaskCompleted",
    "TaskCreated",
    "TaskFailed",
    "TaskProgressed",
    "TaskRequeued",
    "TaskStarted",
    "WebhookAttempted",
    "WebhookCreated",
    "WebhookDeleted",
    "WebhookRedeliveryRequested",
    "WebhookSecretRotated",
    "WebhookTested",
    "WebhookUpdated",
    "WorkflowAnswered",
    "WorkflowApproved",
    "WorkflowCancelled",
    "WorkflowCompleted",
    "WorkflowConfigured",
    "WorkflowFailed",
    "WorkflowLogged",
    "WorkflowStarted",
    "WorkflowStepCompleted",
    "WorkflowStepFailed",
    "WorkflowStepStarted",
]
