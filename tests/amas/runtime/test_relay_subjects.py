"""The relay's stream covers every event family: a batch is acknowledged by its last event."""

from __future__ import annotations

import asyncio

from amas.runtime.relay import SUBJECTS
from events.commands import CreateWebhook
from events.envelope import registry


def test_every_event_type_is_under_a_stream_subject():
    ours = [n for n in registry.names() if registry.get(n).__module__.startswith("events.types")]
    prefixes = tuple(subject.removesuffix(">") for subject in SUBJECTS)
    assert len(ours) > 30  # events.types is loaded (the tests' own types are not counted)
    assert [name for name in ours if not name.startswith(prefixes)] == []


async def test_a_log_ending_in_a_webhook_event_is_acknowledged_and_sent_once(node, eventually):
    made = await node.webhooks.execute(
        CreateWebhook(url="http://127.0.0.1:9/hook", events=["task.*"])
    )
    assert made.ok, made
    await eventually(lambda: node.relay.acked >= node.store.head, "the relay acknowledged all")
    sent = node.relay.sent
    await asyncio.sleep(0.6)  # two checkpoint periods: nothing is sent again
    assert node.relay.sent == sent
