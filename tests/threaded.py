"""A node and its API on an event loop of their own, in a thread: for tests whose client
blocks (schemathesis' requests, selenium's browser), which the node answers meanwhile.

    with node_in_a_thread(config, settings) as root:    # http://127.0.0.1:<port>
        requests.get(f"{root}/api/v1/health")
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future

from amas.runtime.node import Node, NodeConfig
from api.settings import EdgeSettings
from tests.conftest import serving

Stop = Callable[[], None]


def _serve(
    config: NodeConfig, settings: EdgeSettings | None, ready: Future[tuple[str, Stop]]
) -> None:
    async def run() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        async with Node(config) as node, serving(node, settings) as api:
            root = str(api.base_url.copy_with(path="")).rstrip("/")
            ready.set_result((root, lambda: loop.call_soon_threadsafe(stopping.set)))
            await stopping.wait()

    try:
        asyncio.run(run())
    except BaseException as e:
        if ready.done():  # after the start: the test sees it as this thread's exception
            raise
        ready.set_exception(e)


@contextlib.contextmanager
def node_in_a_thread(
    config: NodeConfig, settings: EdgeSettings | None = None, name: str = "threaded-node"
) -> Iterator[str]:
    """http://127.0.0.1:<port> of a node on `config` with its API, until the block ends."""
    ready: Future[tuple[str, Stop]] = Future()
    thread = threading.Thread(target=_serve, args=(config, settings, ready), name=name)
    thread.start()
    try:
        root, stop = ready.result(timeout=60)
    except BaseException:
        thread.join(timeout=30)
        raise
    try:
        yield root
    finally:
        stop()
        thread.join(timeout=60)
