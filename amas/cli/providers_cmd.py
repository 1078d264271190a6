"""`amas providers list|test ID`: the node's AI providers, and a live test of one.

Both ask the running node over its HTTP API (with $AMAS_API_KEY), as a client would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from amas.cli.task_cmd import add_endpoints, api_headers, api_url


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("providers", help="the AI providers: list them, test one")
    sub = group.add_subparsers(dest="providers_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="each provider's status, priority, model and health")
    listing.add_argument("--json", action="store_true", help="print the API's JSON")
    add_endpoints(listing)
    listing.set_defaults(run=lambda args: asyncio.run(_list(args)))
    test = sub.add_parser("test", help="connectivity, key, model access and an answer")
    test.add_argument("provider", help="e.g. deepseek, claude, ollama")
    add_endpoints(test)
    test.set_defaults(run=lambda args: asyncio.run(_test(args)))


async def _ask(args: argparse.Namespace, method: str, path: str) -> tuple[int, Any]:
    async with httpx.AsyncClient(
        base_url=api_url(args), headers=api_headers(), timeout=180.0
    ) as client:
        response = await client.request(method, path)
    return response.status_code, response.json()


async def _list(args: argparse.Namespace) -> int:
    status, body = await _ask(args, "GET", "/ai-providers")
    if status >= 400 or args.json:
        print(json.dumps(body, indent=2), file=sys.stderr if status >= 400 else sys.stdout)
        return 1 if status >= 400 else 0
    table = Table(title=f"AI providers ({body['selection_strategy']} strategy)")
    for column in ("id", "status", "priority", "model", "health", "success", "avg s"):
        table.add_column(column)
    for p in body["providers"]:
        health = p["health"]
        table.add_row(
            p["id"],
            p["status"],
            str(p["priority"]),
            p["model"],
            health["status"],
            "-" if health["success_rate"] is None else f"{health['success_rate']:.0%}",
            "-" if health["avg_response_time"] is None else f"{health['avg_response_time']:.3f}",
        )
    Console().print(table)
    print(f"{body['active_providers']} of {body['total_providers']} active")
    return 0


async def _test(args: argparse.Namespace) -> int:
    status, body = await _ask(args, "POST", f"/ai-providers/{args.provider}/test")
    if status >= 400:
        print(json.dumps(body, indent=2), file=sys.stderr)
        return 1
    print(f"{body['provider_id']}: {body['test_status']} in {body['response_time']} s")
    for check, result in body["test_results"].items():
        reason = body["reasons"].get(check, "")
        print(f"  {check:<17} {result:<8} {reason}")
    return 0 if body["test_status"] == "success" else 1
