"""`Client` (blocking) and `AsyncClient` (asyncio): the same resources on either engine.

with Client("http://127.0.0.1:8000", api_key=key) as client:
    task = client.tasks.submit("echo", parameters={"message": "hi"})
    done = client.tasks.wait(task.task_id)
"""

from __future__ import annotations

from typing import Any, Generic, Self, Unpack

import httpx

from amas.sdk._async import AsyncRunner
from amas.sdk._base_client import ClientOptions, Settings
from amas.sdk._endpoint import Async, M, Sync
from amas.sdk._sync import SyncRunner
from amas.sdk.resources.agents import Agents
from amas.sdk.resources.ai import AI
from amas.sdk.resources.api_keys import ApiKeys
from amas.sdk.resources.events import Events
from amas.sdk.resources.learning import Learning
from amas.sdk.resources.metrics import MetricsResource
from amas.sdk.resources.providers import Providers
from amas.sdk.resources.system import System
from amas.sdk.resources.tasks import Tasks
from amas.sdk.resources.webhooks import Webhooks
from amas.sdk.resources.workflows import Workflows


class _Resources(Generic[M]):
    """The resources of a client, on the engine (SyncRunner or AsyncRunner) it mixes with."""

    _options: ClientOptions
    _http: Any
    tasks: Tasks[M]
    agents: Agents[M]
    workflows: Workflows[M]
    providers: Providers[M]
    ai: AI[M]
    webhooks: Webhooks[M]
    api_keys: ApiKeys[M]
    events: Events[M]
    metrics: MetricsResource[M]
    system: System[M]
    learning: Learning[M]

    def _attach(self, runner: Any) -> None:
        self.tasks = Tasks(runner)
        self.agents = Agents(runner)
        self.workflows = Workflows(runner)
        self.providers = Providers(runner)
        self.ai = AI(runner)
        self.webhooks = Webhooks(runner)
        self.api_keys = ApiKeys(runner)
        self.events = Events(runner)
        self.metrics = MetricsResource(runner)
        self.system = System(runner)
        self.learning = Learning(runner)

    def _connect(self, options: ClientOptions, http_client: Any) -> None:
        raise NotImplementedError  # the engine's

    @property
    def base_url(self) -> str:
        """The node's root URL."""
        return self._options.base_url

    def with_options(self, **changes: Unpack[Settings]) -> Self:
        """A client like this one with some settings changed (`max_retries`, `timeout`
        ...), sharing its connections."""
        copy = object.__new__(type(self))
        copy._connect(self._options.copy(**changes), self._http)
        copy._attach(copy)
        return copy


class Client(SyncRunner, _Resources[Sync]):
    """A blocking client of an AMAS node.

    `base_url` is the node's root (`/api/v1` may be given too); without it,
    `AMAS_API_URL`, else http://127.0.0.1:8000. `api_key` (else `AMAS_API_KEY`) goes in
    `X-API-Key`. Settings: `nats_url` (else `AMAS_NATS_URL`) lets task event streams and
    `wait` use NATS; `timeout` (seconds, default 60); `max_retries` (default 2) bounds
    the retries of a refused (429, 503) or broken request, `max_retry_wait` (default 60
    s) the Retry-After it will wait (see `_base_client.py` for which requests are
    retried); `headers` are sent on every request. `http_client` is an httpx.Client of
    yours (proxies, transports, event hooks); you close it."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        http_client: httpx.Client | None = None,
        **settings: Unpack[Settings],
    ) -> None:
        super().__init__(ClientOptions(base_url, api_key, **settings), http_client)
        self._attach(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class AsyncClient(AsyncRunner, _Resources[Async]):
    """The asyncio client: the same resources and settings as `Client`, awaited
    (`await client.tasks.get(id)`; lists and event streams with `async for`)."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        **settings: Unpack[Settings],
    ) -> None:
        super().__init__(ClientOptions(base_url, api_key, **settings), http_client)
        self._attach(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()
