"""events.envelope: the registry of event types, schema evolution, the wire envelope."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import pytest

from events.envelope import (
    Event,
    EventData,
    EventRegistry,
    Meta,
    decode_event,
    encode_event,
    registry,
)
from events.errors import EventDecodeError, UnknownEventType
from events.store import NO_STREAM, SQLiteEventStore
from events.types import TaskCancelled, TaskCreated, TaskStarted

from .support import OpenStore, execute


class Renamed(EventData, frozen=True, kw_only=True):
    """v2 renamed v1's `old_name` to `name` and added `tags`."""

    type_name: ClassVar[str] = "test.renamed"
    schema_version: ClassVar[int] = 2

    name: str
    tags: list[str] = []


@registry.upcaster("test.renamed", 1)
def _renamed_v1_to_v2(shape: dict[str, Any]) -> dict[str, Any]:
    shape["name"] = shape.pop("old_name")
    return shape


class Reshaped(EventData, frozen=True, kw_only=True):
    """v3, reachable from v1 only through v2: the upcasters chain."""

    type_name: ClassVar[str] = "test.reshaped"
    schema_version: ClassVar[int] = 3

    total: int


@registry.upcaster("test.reshaped", 1)
def _reshaped_v1_to_v2(shape: dict[str, Any]) -> dict[str, Any]:
    return {"parts": [shape["a"], shape["b"]]}


@registry.upcaster("test.reshaped", 2)
def _reshaped_v2_to_v3(shape: dict[str, Any]) -> dict[str, Any]:
    return {"total": sum(shape["parts"])}


class Orphaned(EventData, frozen=True, kw_only=True):
    """v2 with no upcaster from v1."""

    type_name: ClassVar[str] = "test.orphaned"
    schema_version: ClassVar[int] = 2

    value: int


class TaskCreatedV1(msgspec.Struct, kw_only=True):
    """task.created as first written, before priority, callback_url, assigned_agents and
    max_attempts existed (a plain Struct: it must not register itself)."""

    task_id: str
    task_type: str
    parameters: dict[str, Any]


def test_every_task_event_type_is_registered_under_its_dotted_name() -> None:
    for name in (
        "task.created",
        "task.started",
        "task.progress",
        "task.completed",
        "task.failed",
        "task.cancelled",
        "task.requeued",
    ):
        assert name in registry.names()
    assert registry.get("task.created") is TaskCreated
    assert registry.get("task.started") is TaskStarted


def test_registering_a_second_class_under_a_taken_name_raises_value_error() -> None:
    with pytest.raises(ValueError, match=r"task\.created"):

        class Impostor(EventData, frozen=True, kw_only=True):
            type_name: ClassVar[str] = "task.created"

    assert registry.get("task.created") is TaskCreated


def test_get_of_unknown_type_raises_unknown_event_type() -> None:
    with pytest.raises(UnknownEventType) as caught:
        registry.get("no.such.type")
    assert caught.value.type_name == "no.such.type"


def test_decode_of_unknown_type_raises_unknown_event_type() -> None:
    with pytest.raises(UnknownEventType) as caught:
        registry.decode("no.such.type", 1, b"{}")
    assert caught.value.type_name == "no.such.type"


def test_decode_of_current_shape_gives_the_struct() -> None:
    event = TaskStarted(task_id="t1", agent_id="a1", attempt=2)
    assert registry.decode("task.started", 1, msgspec.json.encode(event)) == event


def test_old_shape_bytes_decode_with_defaults_for_fields_added_since() -> None:
    old = msgspec.json.encode(TaskCreatedV1(task_id="t1", task_type="echo", parameters={"x": 1}))

    decoded = registry.decode("task.created", 1, old)

    assert decoded == TaskCreated(task_id="t1", task_type="echo", parameters={"x": 1})
    assert isinstance(decoded, TaskCreated)
    assert (
        decoded.priority,
        decoded.callback_url,
        decoded.assigned_agents,
        decoded.max_attempts,
    ) == ("normal", None, [], 3)


def test_old_task_cancelled_without_agent_id_decodes_with_none() -> None:
    decoded = registry.decode("task.cancelled", 1, b'{"task_id": "t1", "reason": "user"}')
    assert decoded == TaskCancelled(task_id="t1", reason="user", agent_id=None)


def test_bytes_of_an_older_schema_version_decode_through_the_upcaster() -> None:
    decoded = registry.decode("test.renamed", 1, b'{"old_name": "alpha"}')
    assert decoded == Renamed(name="alpha", tags=[])


def test_upcasters_chain_from_the_stored_version_to_the_current_one() -> None:
    assert registry.decode("test.reshaped", 1, b'{"a": 2, "b": 5}') == Reshaped(total=7)
    assert registry.decode("test.reshaped", 2, b'{"parts": [1, 1, 1]}') == Reshaped(total=3)


def test_current_version_bytes_skip_the_upcaster() -> None:
    assert registry.decode("test.renamed", 2, b'{"name": "beta"}') == Renamed(name="beta")


def test_older_version_without_an_upcaster_raises_event_decode_error() -> None:
    with pytest.raises(EventDecodeError) as caught:
        registry.decode("test.orphaned", 1, b'{"value": 1}', position=12)
    assert caught.value.type_name == "test.orphaned"
    assert caught.value.position == 12
    assert "v1" in caught.value.reason


def test_bytes_of_the_wrong_shape_raise_event_decode_error_naming_the_position() -> None:
    with pytest.raises(EventDecodeError) as caught:
        registry.decode("task.started", 1, b'{"task_id": 7, "agent_id": "a"}', position=5)
    assert (caught.value.type_name, caught.value.position) == ("task.started", 5)


def test_upcast_result_of_the_wrong_shape_raises_event_decode_error() -> None:
    with pytest.raises(EventDecodeError):
        registry.decode("test.renamed", 1, b'{"old_name": 42}')


def test_bytes_that_are_not_json_raise_event_decode_error() -> None:
    with pytest.raises(EventDecodeError):
        registry.decode("task.started", 1, b"{not json")


def test_a_separate_registry_knows_only_what_is_registered_in_it() -> None:
    own = EventRegistry()
    own.register(TaskStarted)
    assert own.names() == ["task.started"]
    with pytest.raises(UnknownEventType):
        own.get("task.created")


async def test_event_stored_in_an_old_schema_version_reads_back_upcast(
    events_db: Path, open_store: OpenStore
) -> None:
    # A log written when test.renamed was at v1: the row is as that code stored it.
    await (await open_store()).close()  # creates the file and its table
    execute(
        events_db,
        (
            "INSERT INTO events VALUES (1, ?, 'renamed-1', 1, 'test.renamed', 1, 0, ?, ?, ?)",
            ("01J00000000000000000000000", b'{"old_name":"gamma"}', b"{}", "00" * 32),
        ),
    )
    store = await open_store()

    [event] = await store.read_all()

    assert event.data == Renamed(name="gamma")
    assert event.schema == 1


async def test_encode_event_then_decode_event_gives_the_same_event(
    store: SQLiteEventStore,
) -> None:
    meta = Meta(
        correlation_id="c1",
        causation_id="e0",
        actor="user:7",
        api_key_id="k1",
        request_id="r1",
        trace={"traceparent": "00-abc-def-01"},
    )
    result = await store.append(
        "task-t1",
        NO_STREAM,
        [
            TaskCreated(task_id="t1", task_type="echo", parameters={"text": "hi", "n": [1, 2]}),
            TaskStarted(task_id="t1", agent_id="a1"),
        ],
        meta,
    )

    for event in result.events:
        assert decode_event(encode_event(event)) == event


def test_encode_event_is_json_with_the_envelope_fields() -> None:
    event = Event(
        event_id="01J00000000000000000000000",
        stream="task-t1",
        version=1,
        position=9,
        type="task.started",
        schema=1,
        data=TaskStarted(task_id="t1", agent_id="a1"),
        meta=Meta(actor="me"),
        ts=datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        hash="ab" * 32,
    )

    wire = msgspec.json.decode(encode_event(event))

    assert wire["position"] == 9
    assert wire["type"] == "task.started"
    assert wire["data"] == {"task_id": "t1", "agent_id": "a1", "attempt": 1, "task_type": None}
    assert wire["meta"] == {"actor": "me"}
    assert decode_event(encode_event(event)) == event
