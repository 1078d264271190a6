"""The bus's requests: an answer, nobody listening, nobody answering, a broken connection."""

from __future__ import annotations

import asyncio

import pytest

from amas.runtime.bus import Bus
from amas.runtime.nats_server import EmbeddedNatsServer, free_port
from events.commands import BusUnavailable, CancelTask, Reply


async def test_requests_get_their_own_answers_or_a_clear_refusal(tmp_path) -> None:
    async with EmbeddedNatsServer(tmp_path / "nats", free_port()) as server:
        bus = await Bus.connect(server.url)
        try:

            def echo(command, reply) -> None:
                reply(Reply(ok=True, data={"task_id": command.task_id}))

            await bus.serve_commands("test.echo", echo)
            await bus.nc.subscribe("test.silent", cb=_ignore)

            answers = await asyncio.gather(
                *(bus.request("test.echo", CancelTask(task_id=f"t{i}")) for i in range(50))
            )
            assert [a.data["task_id"] for a in answers] == [f"t{i}" for i in range(50)]

            with pytest.raises(BusUnavailable, match="no node answers"):
                await bus.request("test.nobody", CancelTask(task_id="x"))
            with pytest.raises(BusUnavailable, match=r"no answer within 0\.2 s"):
                await bus.request("test.silent", CancelTask(task_id="x"), timeout=0.2)
            assert bus._answers == {}  # nothing left behind

            waiting = asyncio.create_task(bus.request("test.silent", CancelTask(task_id="x")))
            await asyncio.sleep(0.1)
            server.kill()
            async with asyncio.timeout(3):  # not the 5 s timeout: the break is noticed
                with pytest.raises(BusUnavailable, match="broke before the answer"):
                    await waiting
        finally:
            await bus.nc.close()


async def _ignore(msg) -> None:
    return None
