"""amas.sdk needs httpx and nothing of the server: it imports and works in a Python that
cannot import any server package (nor nats: task events then come over HTTP)."""

from __future__ import annotations

import ast
import asyncio
import json
import sys
from pathlib import Path

import httpx
import pytest

from amas.runtime.node import Node
from tests.conftest import ADMIN_KEY, WAIT
from tests.sdk.support import root_of

SDK = Path(__file__).parents[2] / "amas" / "sdk"
SERVER = ("fastapi", "starlette", "pydantic", "uvicorn", "msgspec", "nats", "pykka",
          "aiosqlite", "events", "actors", "api", "amas.runtime", "amas.cli")  # fmt: skip

WITHOUT_THE_SERVER = f"""
import importlib.abc, json, sys

SERVER = {SERVER!r}

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == s or name.startswith(s + ".") for s in SERVER):
            raise ImportError(f"{{name}} belongs to the server, not the SDK")
        return None

sys.meta_path.insert(0, Refuse())

from amas.sdk import Client

url, key, nats_url = sys.argv[1:4]
with Client(url, api_key=key, nats_url=nats_url) as client:
    health = client.system.health()
    task = client.tasks.submit("echo", parameters={{"steps": 1}})
    events = [e.type for e in client.tasks.events(task.task_id, timeout=20)]
    done = client.tasks.wait(task.task_id, timeout=20)
loaded = sorted(m for m in sys.modules if any(m == s or m.startswith(s + ".") for s in SERVER))
print(json.dumps({{"health": health.status, "events": events, "status": done.status,
                  "loaded": loaded}}))
"""


@pytest.mark.asyncio(loop_scope="module")
async def test_the_sdk_works_where_no_server_package_can_be_imported(
    shared_node: Node, shared_api: httpx.AsyncClient
):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WITHOUT_THE_SERVER,
        root_of(shared_api),
        ADMIN_KEY,
        shared_node.nats_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), WAIT * 3)
    assert process.returncode == 0, err.decode()
    seen = json.loads(out)
    assert seen["health"] == "healthy" and seen["status"] == "completed"
    assert seen["events"][0] == "task.created" and seen["events"][-1] == "task.completed"
    assert seen["loaded"] == []


def _imports(tree: ast.Module) -> list[tuple[str, bool]]:
    """(module, at the top level) of each import in a module."""
    found: list[tuple[str, bool]] = []
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, id(node) in top))
    return found


def test_the_sdk_imports_only_the_stdlib_httpx_itself_and_nats_when_asked():
    allowed = set(sys.stdlib_module_names) | {"httpx"}
    wrong = []
    for path in sorted(SDK.rglob("*.py")):
        for module, top_level in _imports(ast.parse(path.read_text())):
            root = module.split(".")[0]
            if module == "amas" or module.startswith("amas.sdk") or root in allowed:
                continue
            if root == "nats" and not top_level:
                continue  # optional: imported where a NATS stream starts
            wrong.append(f"{path.relative_to(SDK.parent.parent)}: {module}")
    assert not wrong, wrong
