"""`--nats URL`: a node joins a server it did not start, and leaves it running."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats

from amas.runtime.nats_server import EmbeddedNatsServer, free_port
from amas.runtime.node import Node, NodeConfig
from amas.runtime.settings import DataPaths
from tests.conftest import ADMIN_KEY, WAIT, serving


async def test_node_joins_an_existing_nats_server_and_leaves_it_running(tmp_path: Path) -> None:
    async with EmbeddedNatsServer(tmp_path / "external-nats", free_port()) as external:
        config = NodeConfig(
            data=DataPaths(tmp_path / "data"), nats_url=external.url, admin_key=ADMIN_KEY
        )
        async with Node(config) as node, serving(node) as api:
            assert node.nats_server is None
            assert node.nats_url == external.url
            watcher = await nats.connect(external.url)
            completed: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

            async def on_completed(msg: nats.aio.msg.Msg) -> None:
                if not completed.done():
                    completed.set_result(msg.data)

            await watcher.subscribe("task.completed", cb=on_completed)
            response = await api.post(
                "/tasks", json={"task_type": "echo", "parameters": {"via": "external"}}
            )
            assert response.status_code == 201, response.text
            async with asyncio.timeout(WAIT):
                envelope = await completed
            assert response.json()["task_id"].encode() in envelope
            await watcher.close()
        assert external.running()  # the node stopped; the server it joined did not
        probe = await nats.connect(external.url)
        await probe.close()
