"""The node's watch over its broker: an embedded nats-server that dies is started again,
and every outage and recovery goes into the log as a system.alert (NATS_DOWN, then
NATS_DOWN cleared; NATS_RESTARTED is a notice that nothing clears).

The log is local SQLite, so an alert is written while NATS is away; the relay
publishes it once NATS is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from amas.runtime.nats_server import EmbeddedNatsServer
from events.envelope import Meta
from events.errors import StoreClosedError
from events.store.base import ANY_VERSION, EventStore
from events.types import SystemAlerted
from events.types.system import AlertLevel

log = logging.getLogger(__name__)

_CHECK_EVERY = 0.25
_RESTART_BACKOFF_MAX = 5.0


class BrokerWatch:
    def __init__(self, url: str) -> None:
        self.url = url
        self.store: EventStore | None = None
        """Where alerts go; none are written before the node has opened its log."""
        self.stopping = False
        self.restarts = 0
        """Times the embedded nats-server was started again since the node started."""
        self.outages = 0
        """Times the node's connection to NATS broke since it started."""
        self._down_since: float | None = None

    async def keep_running(self, server: EmbeddedNatsServer) -> None:
        """Start `server` again whenever it exits without being stopped."""
        delay = 0.1
        while True:
            await asyncio.sleep(_CHECK_EVERY)
            if not server.died() or self.stopping:
                continue
            log.error("the embedded nats-server exited; starting it again")
            try:
                await server.start()
            except Exception as e:
                log.error("nats-server did not start again (%r); next try in %.1f s", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RESTART_BACKOFF_MAX)
                continue
            delay = 0.1
            self.restarts += 1
            await self.alert(
                "warning",
                "NATS_RESTARTED",
                "the embedded nats-server exited and was started again",
                {"url": server.url, "pid": server.pid},
            )

    async def lost(self) -> None:
        """The node's NATS connection broke (nats-py's disconnected callback)."""
        if self.stopping or self._down_since is not None:
            return
        self._down_since = time.monotonic()
        self.outages += 1
        await self.alert(
            "error",
            "NATS_DOWN",
            "lost the connection to NATS; writes answer 503 until it is back",
            {"url": self.url},
        )

    async def back(self) -> None:
        """The connection is back (nats-py's reconnected callback)."""
        if self._down_since is None:
            return
        outage = time.monotonic() - self._down_since
        self._down_since = None
        await self.alert(
            "info",
            "NATS_DOWN",
            f"NATS is back after {outage:.1f} s",
            {"url": self.url, "outage_seconds": round(outage, 3)},
            cleared=True,
        )

    async def alert(
        self,
        level: AlertLevel,
        code: str,
        message: str,
        details: dict[str, Any],
        cleared: bool = False,
    ) -> None:
        store = self.store
        if self.stopping or store is None:
            return
        try:
            await store.append(
                "system",
                ANY_VERSION,
                [
                    SystemAlerted(
                        level=level, code=code, message=message, details=details, cleared=cleared
                    )
                ],
                Meta(actor="node"),
            )
        except StoreClosedError:
            return
        except Exception:
            log.exception("could not record the alert %s", code)
