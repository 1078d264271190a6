"""Commands: what travels on `amas.cmd.*` and `amas.work.*`, one module per area.

Everything here is a msgspec Struct, msgpack-encoded; every command is tagged and
belongs to the one `Command` union that a single decoder reads. The actors that decide
and the edge that asks both import from here, and from nowhere above.
"""

from __future__ import annotations

import msgspec

from events.commands.agent import CONFIGURE_AGENT, AgentCommand, ConfigureAgent
from events.commands.apikey import (
    CREATE_API_KEY,
    REVOKE_API_KEY,
    ROTATE_API_KEY,
    ApiKeyCommand,
    CreateApiKey,
    RevokeApiKey,
    RotateApiKey,
    create_command,
)
from events.commands.base import (
    BusUnavailable,
    CommandBus,
    Reply,
    ReplyFn,
    Request,
    rejected,
)
from events.commands.learning import APPLY_OPTIMIZATION, ApplyOptimization, LearningCommand
from events.commands.provider import (
    COMPLETE,
    CONFIGURE_PROVIDER,
    TEST_PROVIDER,
    ChatMessage,
    Complete,
    ConfigureProvider,
    ProviderCommand,
    StreamPiece,
    TestProvider,
    stream_piece_decoder,
    stream_piece_encoder,
)
from events.commands.task import (
    CANCEL_TASK,
    CANCEL_WORK,
    REPORT_TASK,
    START_TASK,
    SUBMIT_TASK,
    CancelTask,
    CancelWork,
    CompleteTask,
    FailTask,
    ReportProgress,
    StartTask,
    SubmitTask,
    TaskCommand,
    Work,
    cancel_work_decoder,
    work_decoder,
    work_subject,
)
from events.commands.webhook import (
    CREATE_WEBHOOK,
    DELETE_WEBHOOK,
    REDELIVER_WEBHOOK,
    ROTATE_WEBHOOK_SECRET,
    SET_CALLBACK_SECRET,
    TEST_WEBHOOK,
    UPDATE_WEBHOOK,
    CreateWebhook,
    DeleteWebhook,
    RedeliverWebhook,
    RotateWebhookSecret,
    SetCallbackSecret,
    TestWebhook,
    UpdateWebhook,
    WebhookCommand,
)
from events.commands.workflow import (
    APPROVE_WORKFLOW,
    CANCEL_WORKFLOW,
    CONFIGURE_WORKFLOWS,
    TRIGGER_WORKFLOW,
    ApproveWorkflow,
    CancelWorkflow,
    ConfigureWorkflows,
    TriggerWorkflow,
    WorkflowCommand,
)

Command = (
    TaskCommand
    | AgentCommand
    | ApiKeyCommand
    | ProviderCommand
    | WorkflowCommand
    | WebhookCommand
    | LearningCommand
)

command_encoder = msgspec.msgpack.Encoder()
command_decoder = msgspec.msgpack.Decoder(Command)
reply_encoder = msgspec.msgpack.Encoder()
reply_decoder = msgspec.msgpack.Decoder(Reply)

__all__ = [
    "APPLY_OPTIMIZATION",
    "APPROVE_WORKFLOW",
    "CANCEL_TASK",
    "CANCEL_WORK",
    "CANCEL_WORKFLOW",
    "COMPLETE",
    "CONFIGURE_AGENT",
    "CONFIGURE_PROVIDER",
    "CONFIGURE_WORKFLOWS",
    "CREATE_API_KEY",
    "CREATE_WEBHOOK",
    "DELETE_WEBHOOK",
    "REDELIVER_WEBHOOK",
    "REPORT_TASK",
    "REVOKE_API_KEY",
    "ROTATE_API_KEY",
    "ROTATE_WEBHOOK_SECRET",
    "SET_CALLBACK_SECRET",
    "START_TASK",
    "SUBMIT_TASK",
    "TEST_PROVIDER",
    "TEST_WEBHOOK",
    "TRIGGER_WORKFLOW",
    "UPDATE_WEBHOOK",
    "ApplyOptimization",
    "ApproveWorkflow",
    "BusUnavailable",
    "CancelTask",
    "CancelWork",
    "CancelWorkflow",
    "ChatMessage",
    "Command",
    "CommandBus",
    "Complete",
    "CompleteTask",
    "ConfigureAgent",
    "ConfigureProvider",
    "ConfigureWorkflows",
    "CreateApiKey",
    "CreateWebhook",
    "DeleteWebhook",
    "FailTask",
    "ProviderCommand",
    "RedeliverWebhook",
    "Reply",
    "ReplyFn",
    "ReportProgress",
    "Request",
    "RevokeApiKey",
    "RotateApiKey",
    "RotateWebhookSecret",
    "SetCallbackSecret",
    "StartTask",
    "StreamPiece",
    "SubmitTask",
    "TestProvider",
    "TestWebhook",
    "TriggerWorkflow",
    "UpdateWebhook",
    "WebhookCommand",
    "Work",
    "WorkflowCommand",
    "cancel_work_decoder",
    "command_decoder",
    "command_encoder",
    "create_command",
    "rejected",
    "reply_decoder",
    "reply_encoder",
    "stream_piece_decoder",
    "stream_piece_encoder",
    "work_decoder",
    "work_subject",
]
