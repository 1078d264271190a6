"""A task read back from the log: after a failed append, and a composite's parts at boot.

The task manager decides from its own state; when that state may be wrong (an append
failed) or is not there yet (a restore), the log is the truth it reads back."""

from __future__ import annotations

from actors.tasks import decide, parts
from actors.tasks.decide import TaskState
from actors.tasks.parts import PartView
from events.store.base import EventStore
from events.types import TaskCreated


async def read_task(store: EventStore, task_id: str) -> TaskState | None:
    """The task as its stream says, parts and all; None if it is unknown or finished."""
    state: TaskState | None = None
    for event in await store.read_stream(task_id):
        state = decide.evolve(state, event.data)
    if state is None or state.status.finished:
        return None
    await read_parts(store, state)
    return state


async def read_parts(store: EventStore, state: TaskState) -> None:
    """A composite task's views of its parts, from the parts' own streams."""
    for name, child_id in state.parts.items():
        events = await store.read_stream(child_id)
        if not events:
            continue  # never created: the task manager creates it when it resumes
        created = events[0].data
        assert isinstance(created, TaskCreated)
        view = PartView(name=name, task_id=child_id, task_type=created.task_type)
        for event in events[1:]:
            parts.follow(view, event.data)
        state.views[child_id] = view
