"""The node's NATS connection: commands (request/reply), work hand-outs, events.

Everything on `amas.*` is msgpack-encoded msgspec Structs (events/commands/); public
events (`task.*`, `system.alert` ...) are the JSON envelope, for any subscriber.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

import msgspec
import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from events import tracing
from events.commands import (
    BusUnavailable,
    Command,
    Reply,
    ReplyFn,
    command_decoder,
    command_encoder,
    rejected,
    reply_decoder,
    reply_encoder,
)
from events.vocabulary import ErrorCode

log = logging.getLogger(__name__)

CommandHandler = Callable[[Command, ReplyFn], None]


_NO_RESPONDERS = "503"
"""The status nats-server answers a request with when nobody subscribes to its subject."""


class _ConnectionBroke(Exception):
    pass


def _expire(answer: asyncio.Future[Msg]) -> None:
    if not answer.done():
        answer.set_exception(TimeoutError())


class Bus:
    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.disconnected_at: float | None = None
        """When (monotonic) the connection last broke."""
        self._outbox: deque[tuple[str, bytes, dict[str, str] | None]] = deque()
        self._sender: asyncio.Task[None] | None = None
        # Requests share one reply subscription: `<inbox>.<n>` -> the future awaiting it.
        # (nats-py's own request draws 2 random bytes from os.urandom per call: 6% of the
        # node's event loop under load.)
        self._inbox = nc.new_inbox()
        self._answers: dict[str, asyncio.Future[Msg]] = {}
        self._tokens = itertools.count()

    @classmethod
    async def connect(
        cls,
        url: str,
        name: str = "amas",
        on_disconnect: Callable[[], Awaitable[None]] | None = None,
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
    ) -> Bus:
        """Connect, and reconnect for ever: an outage pauses the node, it never ends it."""
        made: list[Bus] = []

        async def disconnected() -> None:
            for bus in made:
                bus.disconnected_at = time.monotonic()
                bus._interrupt_requests()
            if on_disconnect is not None:
                await on_disconnect()

        async def reconnected() -> None:
            if on_reconnect is not None:
                await on_reconnect()

        nc = await nats.connect(
            servers=[url],
            name=name,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.25,
            connect_timeout=2,
            ping_interval=5,
            max_outstanding_pings=2,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
        )
        bus = cls(nc)
        await nc.subscribe(f"{bus._inbox}.*", cb=bus._on_answer)
        made.append(bus)
        return bus

    @property
    def connected(self) -> bool:
        return bool(self.nc.is_connected)

    @property
    def reconnects(self) -> int:
        """Times the client has connected again since it first connected."""
        return int(self.nc.stats["reconnects"])

    async def request(self, subject: str, command: msgspec.Struct, timeout: float = 5.0) -> Reply:
        """Send a command and await its reply; the ambient trace goes with it (header
        `traceparent`), and with tracing on the round trip is a client span."""
        if not self.nc.is_connected:  # answer now rather than after the timeout
            raise BusUnavailable(subject, "not connected to NATS")
        if not tracing.enabled():
            return await self._request(subject, command, timeout)
        with tracing.span(
            f"send {subject}",
            kind=tracing.CLIENT,
            attributes={"messaging.system": "nats", "messaging.destination.name": subject},
        ):
            return await self._request(subject, command, timeout)

    async def _request(self, subject: str, command: msgspec.Struct, timeout: float) -> Reply:
        token = str(next(self._tokens))
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Msg] = loop.create_future()
        self._answers[token] = answer
        # A timer that fails the future, rather than asyncio.timeout(): no task lookup and
        # no rescheduling per request (2-3% of the event loop under load, py-spy --gil).
        expiry = loop.call_later(timeout, _expire, answer)
        try:
            await self.nc.publish(
                subject,
                command_encoder.encode(command),
                reply=f"{self._inbox}.{token}",
                headers=tracing.headers(),
            )
            msg = await answer
        except _ConnectionBroke:
            raise BusUnavailable(
                subject,
                "the connection to NATS broke before the answer came;"
                " the command may have taken effect",
            ) from None
        except TimeoutError as e:
            raise BusUnavailable(subject, f"no answer within {timeout:g} s") from e
        except (
            nats.errors.ConnectionClosedError,
            nats.errors.ConnectionReconnectingError,
            nats.errors.OutboundBufferLimitError,
        ) as e:
            raise BusUnavailable(subject, "not connected to NATS") from e
        finally:
            expiry.cancel()
            self._answers.pop(token, None)
        if msg.headers and msg.headers.get("Status") == _NO_RESPONDERS:
            raise BusUnavailable(subject, "no node answers")
        return reply_decoder.decode(msg.data)

    async def _on_answer(self, msg: Msg) -> None:
        answer = self._answers.pop(msg.subject[len(self._inbox) + 1 :], None)
        if answer is not None and not answer.done():
            answer.set_result(msg)

    def _interrupt_requests(self) -> None:
        """The connection broke: the answers awaited will not come; say so now, not after
        the timeout."""
        answers, self._answers = self._answers, {}
        for answer in answers.values():
            if not answer.done():
                answer.set_exception(_ConnectionBroke())

    async def publish(
        self, subject: str, payload: bytes, headers: dict[str, str] | None = None
    ) -> None:
        """Publish; without headers of its own the message carries the ambient trace."""
        await self.nc.publish(subject, payload, headers=headers or tracing.headers())

    async def serve_commands(self, subject: str, handler: CommandHandler, queue: str = "") -> None:
        """Decode each command on `subject` and hand it, with a way to answer, to `handler`.

        The answer is a plain call on the loop's thread (an actor's decision, a future's
        callback); it is queued and sent in order, without the request's headers. The
        handler runs in the trace the command came with (header `traceparent`, else the
        command's own `trace` or meta).
        """

        async def on_message(msg: Msg) -> None:
            try:
                command = command_decoder.decode(msg.data)
            except msgspec.DecodeError as e:
                await msg.respond(reply_encoder.encode(rejected(ErrorCode.INVALID_REQUEST, str(e))))
                return

            def reply(answer: Reply) -> None:
                if msg.reply:
                    self.send_soon(msg.reply, reply_encoder.encode(answer))

            sent = msg.headers.get(tracing.TRACEPARENT) if msg.headers else None
            traceparent = tracing.valid(sent or tracing.carried(command))
            if traceparent is None:
                handler(command, reply)
            else:
                with tracing.continued(traceparent):
                    handler(command, reply)

        await self.nc.subscribe(subject, queue=queue, cb=on_message)

    def send_soon(
        self, subject: str, payload: bytes, headers: dict[str, str] | None = None
    ) -> None:
        """Publish from a plain callback on the loop: queued, and sent in order by one
        task per burst rather than a task per message. Best effort, like any reply: a
        message that cannot go out (NATS is away) is dropped and logged."""
        self._outbox.append((subject, payload, headers))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_outbox())

    async def _send_outbox(self) -> None:
        outbox = self._outbox
        while outbox:
            subject, payload, headers = outbox.popleft()
            try:
                await self.nc.publish(subject, payload, headers=headers)
            except Exception as e:
                log.info("message on %s dropped: %r", subject, e)

    async def subscribe(
        self, subject: str, callback: Callable[[Msg], Awaitable[None]], queue: str = ""
    ) -> Subscription:
        subscription: Subscription = await self.nc.subscribe(subject, queue=queue, cb=callback)
        return subscription

    async def close(self) -> None:
        if self._sender is not None:
            await asyncio.gather(self._sender, return_exceptions=True)
        try:
            await self.nc.drain()
        except Exception:  # closing: a broken connection has nothing left to drain
            await self.nc.close()
