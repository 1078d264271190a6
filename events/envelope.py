"""The envelope every event travels in, and the registry of event data types.

An event's `data` is a frozen Struct subclassing `EventData`; the subclass names its
dotted type (`type_name`) and its schema version. Evolution follows msgspec's rules:
a new field always has a default, a field is never retyped. When a change cannot be
expressed that way, bump `schema_version` and register an upcaster that turns the
old shape (as a dict) into the new one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Union

import msgspec

from events.errors import EventDecodeError, UnknownEventType

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


# gc=False on the envelope, its meta and every event type: a node holds tens of
# thousands of events (the store's tail, the relay, projections); as GC-tracked objects
# they made each full collection a 60-100 ms pause under load (measured with a
# gc.callbacks hook; 20-25 ms without them). They never form reference cycles.
class EventData(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Base of every event's typed payload; subclasses register themselves."""

    type_name: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.type_name:
            registry.register(cls)


class Meta(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """Why an event happened and on whose behalf."""

    correlation_id: str | None = None
    causation_id: str | None = None
    actor: str | None = None
    api_key_id: str | None = None
    request_id: str | None = None
    trace: dict[str, str] = {}


class Event(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A committed event: what the log stores and what NATS subscribers receive."""

    event_id: str
    stream: str
    version: int
    position: int
    type: str
    schema: int
    data: Any
    meta: Meta
    ts: datetime
    hash: str


class _TypeEntry:
    __slots__ = ("cls", "decoder", "upcasters")

    def __init__(self, cls: type[EventData]) -> None:
        self.cls = cls
        # Built on first use: a Struct is not complete inside its own __init_subclass__.
        self.decoder: msgspec.json.Decoder[Any] | None = None
        self.upcasters: dict[int, Upcaster] = {}


class EventRegistry:
    """Maps dotted type names to data Structs and decodes stored payloads."""

    def __init__(self) -> None:
        self._types: dict[str, _TypeEntry] = {}
        self._json = msgspec.json.Decoder()
        self._batch_decoder: msgspec.json.Decoder[list[Event]] | None = None

    def register(self, cls: type[EventData]) -> None:
        existing = self._types.get(cls.type_name)
        if existing is not None and existing.cls is not cls:
            raise ValueError(f"event type {cls.type_name!r} is already registered")
        self._types[cls.type_name] = _TypeEntry(cls)
        self._batch_decoder = None

    def batch_decoder(self) -> msgspec.json.Decoder[list[Event]]:
        """One decoder for a whole batch of stored events, typed data and all, in C.

        It reads a JSON array of arrays, each tagged `"<type>@<schema>"` and then holding
        the Event's fields in order, `ts` as seconds with six decimals (see
        `events.store.sqlite`). Every registered type at its current schema gets an Event
        subclass with `data` typed; anything else (an old schema, an unknown type, bad
        data) fails the whole batch, and the caller decodes it event by event instead.
        strict=False only so that `ts` may come as a number; valid data decodes the same.
        """
        if self._batch_decoder is None:
            tagged = tuple(
                msgspec.defstruct(
                    f"Event_{name.replace('.', '_')}",
                    [("data", entry.cls)],
                    bases=(Event,),
                    array_like=True,
                    tag_field="_tag",
                    tag=f"{name}@{entry.cls.schema_version}",
                    frozen=True,
                    kw_only=True,
                )
                for name, entry in self._types.items()
            )
            union: Any = Union[tagged] if tagged else Event  # noqa: UP007
            self._batch_decoder = msgspec.json.Decoder(list[union], strict=False)
        return self._batch_decoder

    def upcaster(self, type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning schema `from_version` into `from_version + 1`."""

        def register(fn: Upcaster) -> Upcaster:
            self._entry(type_name).upcasters[from_version] = fn
            return fn

        return register

    def names(self) -> list[str]:
        return sorted(self._types)

    def get(self, type_name: str) -> type[EventData]:
        return self._entry(type_name).cls

    def decode(
        self, type_name: str, schema: int, raw: bytes | msgspec.Raw, position: int = 0
    ) -> EventData:
        entry = self._entry(type_name)
        try:
            if schema == entry.cls.schema_version:
                if entry.decoder is None:
                    entry.decoder = msgspec.json.Decoder(entry.cls)
                return entry.decoder.decode(raw)  # type: ignore[no-any-return]
            shape: dict[str, Any] = self._json.decode(raw)
            for version in range(schema, entry.cls.schema_version):
                upcast = entry.upcasters.get(version)
                if upcast is None:
                    raise EventDecodeError(type_name, position, f"no upcaster from v{version}")
                shape = upcast(shape)
            return msgspec.convert(shape, entry.cls)
        except msgspec.ValidationError as e:
            raise EventDecodeError(type_name, position, str(e)) from e
        except msgspec.DecodeError as e:
            raise EventDecodeError(type_name, position, str(e)) from e

    def _entry(self, type_name: str) -> _TypeEntry:
        try:
            return self._types[type_name]
        except KeyError:
            raise UnknownEventType(type_name) from None


registry = EventRegistry()

_json_encoder = msgspec.json.Encoder()
_event_decoder = msgspec.json.Decoder(Event)


def encode_event(event: Event) -> bytes:
    """The JSON form published on NATS and exported to auditors."""
    return _json_encoder.encode(event)


class _WireEvent(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    stream: str
    version: int
    position: int
    type: str
    schema: int
    data: msgspec.Raw
    meta: Meta
    ts: datetime
    hash: str


_wire_decoder = msgspec.json.Decoder(_WireEvent)


def decode_event(raw: bytes) -> Event:
    """Decode `encode_event`'s output back into an Event with its typed data."""
    wire = _wire_decoder.decode(raw)
    data = registry.decode(wire.type, wire.schema, wire.data, wire.position)
    return Event(
        event_id=wire.event_id,
        stream=wire.stream,
        version=wire.version,
        position=wire.position,
        type=wire.type,
        schema=wire.schema,
        data=data,
        meta=wire.meta,
        ts=wire.ts,
        hash=wire.hash,
    )
