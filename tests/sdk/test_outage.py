"""While the node's NATS is down, a write is a ServiceUnavailableError at once (with
retries off) carrying the node's reason; reads go on."""

from __future__ import annotations

import pytest

from amas.sdk import ServiceUnavailableError
from tests.sdk.support import async_client


async def test_a_submit_while_nats_is_down_is_service_unavailable(api, node, eventually):
    assert node.nats_server is not None
    await node.nats_server.stop()  # on purpose: the node does not start it again
    await eventually(lambda: not node.bus.connected, "the node notices the outage")
    try:
        async with async_client(api, max_retries=0) as c:
            with pytest.raises(ServiceUnavailableError) as e:
                await c.tasks.submit("echo")
            assert len(await c.agents.list()) == 8
    finally:
        await node.nats_server.start()
    error = e.value
    assert (error.status_code, error.code) == (503, "SERVICE_UNAVAILABLE")
    assert error.details["reason"] == "not connected to NATS"
    assert error.request_id and error.request_id.startswith("req-")
    await eventually(lambda: node.bus.connected, "the node reconnects", timeout=20)
    async with async_client(api) as c:
        assert (await c.tasks.submit("echo")).status == "queued"
