"""Which NATS subject reaches which actor: the node's subscriptions, in one place."""

from __future__ import annotations

from nats.aio.msg import Msg

from actors.apikeys import KeyCommands
from actors.fleet import Fleet
from actors.learning.optimizer import Optimizer
from actors.providers.pool import ProviderPool
from actors.webhooks.registry import WebhookRegistry
from actors.workflows.service import Workflows
from amas.runtime.bus import Bus
from events import tracing
from events.commands import (
    APPLY_OPTIMIZATION,
    APPROVE_WORKFLOW,
    CANCEL_TASK,
    CANCEL_WORK,
    CANCEL_WORKFLOW,
    COMPLETE,
    CONFIGURE_AGENT,
    CONFIGURE_PROVIDER,
    CONFIGURE_WORKFLOWS,
    CREATE_API_KEY,
    CREATE_WEBHOOK,
    DELETE_WEBHOOK,
    REDELIVER_WEBHOOK,
    REPORT_TASK,
    REVOKE_API_KEY,
    ROTATE_API_KEY,
    ROTATE_WEBHOOK_SECRET,
    SET_CALLBACK_SECRET,
    START_TASK,
    SUBMIT_TASK,
    TEST_PROVIDER,
    TEST_WEBHOOK,
    TRIGGER_WORKFLOW,
    UPDATE_WEBHOOK,
    cancel_work_decoder,
    work_decoder,
    work_subject,
)


async def route(
    bus: Bus,
    fleet: Fleet,
    keys: KeyCommands,
    providers: ProviderPool,
    workflows: Workflows,
    webhooks: WebhookRegistry,
    optimizer: Optimizer,
) -> None:
    """Subscribe the fleet, the key commands, the providers, the workflows and the
    webhook registry to their subjects."""
    for subject in (SUBMIT_TASK, CANCEL_TASK, START_TASK, REPORT_TASK):
        await bus.serve_commands(subject, fleet.task_command, queue="task-manager")
    await bus.serve_commands(CONFIGURE_AGENT, fleet.agent_command)
    for subject in (CREATE_API_KEY, ROTATE_API_KEY, REVOKE_API_KEY):
        await bus.serve_commands(subject, keys.handle, queue="apikeys")
    for subject in (COMPLETE, CONFIGURE_PROVIDER, TEST_PROVIDER):
        await bus.serve_commands(subject, providers.command, queue="providers")
    for subject in (TRIGGER_WORKFLOW, CANCEL_WORKFLOW, CONFIGURE_WORKFLOWS, APPROVE_WORKFLOW):
        await bus.serve_commands(subject, workflows.command, queue="workflows")
    for subject in (
        CREATE_WEBHOOK,
        UPDATE_WEBHOOK,
        ROTATE_WEBHOOK_SECRET,
        DELETE_WEBHOOK,
        TEST_WEBHOOK,
        REDELIVER_WEBHOOK,
        SET_CALLBACK_SECRET,
    ):
        await bus.serve_commands(subject, webhooks.handle, queue="webhooks")
    await bus.serve_commands(APPLY_OPTIMIZATION, optimizer.command, queue="optimizer")

    async def on_work(msg: Msg) -> None:
        work = work_decoder.decode(msg.data)
        sent = msg.headers.get(tracing.TRACEPARENT) if msg.headers else None
        fleet.work(work, tracing.valid(sent or work.trace))

    async def on_cancel_work(msg: Msg) -> None:
        fleet.cancel_work(cancel_work_decoder.decode(msg.data).task_id)

    for agent_type in fleet.agent_types:
        await bus.subscribe(work_subject(agent_type), on_work, queue=f"agents-{agent_type}")
    await bus.subscribe(CANCEL_WORK, on_cancel_work)
