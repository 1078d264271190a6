"""The SDK's methods are written once for both clients, and typed for each: a type
checker sees `Task` from the blocking client and `Awaitable[Task]` from the async one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
"""Where mypy finds amas.sdk as source (an editable install hides it from mypy)."""

USES = """
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import assert_type

from amas.sdk import AsyncClient, AsyncPager, Client, Event, Pager, Task
from amas.sdk.models import Completion, CompletionChunk, WorkflowTriggered


def blocking(c: Client) -> None:
    assert_type(c.tasks.get("t"), Task)
    assert_type(c.tasks.list(status="queued"), Pager[Task])
    assert_type(c.tasks.wait("t", timeout=1.0), Task)
    assert_type(c.tasks.events("t", via="nats"), Iterator[Event])
    assert_type(c.ai.stream([]), Iterator[CompletionChunk])
    assert_type(c.workflows.orchestrator.trigger(), WorkflowTriggered)


def asynchronous(c: AsyncClient) -> None:
    assert_type(c.tasks.get("t"), Awaitable[Task])
    assert_type(c.tasks.list(status="queued"), AsyncPager[Task])
    assert_type(c.tasks.wait("t", timeout=1.0), Awaitable[Task])
    assert_type(c.tasks.events("t", via="nats"), AsyncIterator[Event])
    assert_type(c.ai.complete([]), Awaitable[Completion])


def wrong(c: Client) -> None:
    c.tasks.get(task_id=1)  # an int where the id is a str
"""


def test_mypy_sees_each_clients_own_types_and_the_methods_arguments(tmp_path: Path):
    (tmp_path / "uses.py").write_text(USES)
    (tmp_path / "mypy.ini").write_text("[mypy]\n")  # not the repository's settings
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", str(tmp_path / "mypy.ini"),
         "--cache-dir", str(tmp_path / "cache"), str(tmp_path / "uses.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and 'Argument "task_id"' in errors[0], checked.stdout
