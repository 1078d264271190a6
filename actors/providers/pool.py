"""The node's AI providers: one actor per provider and the router, supervised.

At start each provider's configuration is the environment's (catalog.from_env) with
the operator's changes on top, read back from the `providers` projection (so a PUT
/ai-providers/{id}/config survives a restart). One httpx client, shared by every
provider, is closed at stop.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from actors.io import Incoming, LoopBridge
from actors.providers.catalog import ProviderConfig
from actors.providers.provider import ProviderActor, Recorded
from actors.providers.router import Router, RouterSettings
from actors.supervision import Child, Supervisor
from events.commands import Command, ReplyFn

LoadChanges = Callable[[], Awaitable[dict[str, dict[str, Any]]]]
"""Each provider's configuration changes, as the providers projection holds them."""


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's roots), made once per process: making one
    costs ~50 ms, and a node (each test's too) would pay it at every start."""
    return httpx.create_ssl_context()


class ProviderPool:
    def __init__(
        self,
        configs: Sequence[ProviderConfig],
        store: Any,
        publish: Callable[[str, bytes], Any],
        settings: RouterSettings,
        load_changes: LoadChanges,
    ) -> None:
        self.configs = {config.id: config for config in configs}
        self.store = store
        self.publish = publish
        self.settings = settings
        self.load_changes = load_changes
        self.board: dict[str, Recorded] = {}
        self.providers: dict[str, Child] = {}
        self.router: Child
        self.http: httpx.AsyncClient

    async def start(self) -> None:
        for provider, changes in (await self.load_changes()).items():
            if provider in self.configs:
                self.configs[provider] = self.configs[provider].with_changes(**changes)
        self.http = httpx.AsyncClient(
            verify=_tls(),
            trust_env=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        self.bridge = bridge = LoopBridge(asyncio.get_running_loop())
        self.supervisor = sup = Supervisor(bridge)
        for provider in self.configs:
            self.providers[provider] = sup.start(
                f"provider-{provider}",
                lambda provider=provider: ProviderActor.start(  # type: ignore[misc]
                    sup,
                    f"provider-{provider}",
                    bridge,
                    self._current(provider),
                    self.http,
                    self.store,
                    self.board,
                    self.settings.breaker,
                ),
            )
        self.router = sup.start(
            "router",
            lambda: Router.start(
                sup, "router", bridge, self.providers, self.board, self.publish, self.settings
            ),
        )

    def _current(self, provider: str) -> ProviderConfig:
        """A restarted provider keeps the configuration its predecessor had last."""
        recorded = self.board.get(provider)
        return recorded.config if recorded is not None else self.configs[provider]

    async def stop(self) -> None:
        if hasattr(self, "supervisor"):
            await asyncio.to_thread(self.supervisor.stop_all)
            await self.bridge.drain(timeout=2.0)
        if hasattr(self, "http"):
            await self.http.aclose()

    def command(self, command: Command, reply: ReplyFn) -> None:
        self.router.tell(Incoming(command, reply))

    def alive(self) -> bool:
        return self.router.alive() and all(p.alive() for p in self.providers.values())
