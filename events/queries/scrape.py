"""What a Prometheus scrape reads of the projections, at scrape time.

Synchronous, on a `sqlite3` connection of the scraper's own: prometheus_client calls
collectors synchronously, and the node runs the scrape in a worker thread so that
these GROUP BYs never hold up the event loop or the API's reader connection.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import msgspec

_outcomes = msgspec.json.Decoder(dict[str, int]).decode


def tasks_by_type_and_status(db: sqlite3.Connection) -> list[tuple[str, str, int]]:
    rows = db.execute(
        "SELECT task_type, status, count(*) FROM tasks GROUP BY task_type, status"
    ).fetchall()
    return [(task_type, status, int(count)) for task_type, status, count in rows]


def queue_depths(db: sqlite3.Connection) -> dict[str, int]:
    """Queued tasks per agent that may run them; agent '' for all of them."""
    return dict(db.execute("SELECT agent_id, depth FROM metrics_depth").fetchall())


@dataclass(frozen=True)
class AgentSlots:
    agent_id: str
    agent_type: str
    status: str
    busy: int
    total: int


def agent_slots(db: sqlite3.Connection) -> list[AgentSlots]:
    rows = db.execute(
        "SELECT agent_id, agent_type, status, (SELECT count(*) FROM json_each(running)),"
        " max_concurrent_tasks FROM agents ORDER BY agent_id"
    ).fetchall()
    return [AgentSlots(*row) for row in rows]


@dataclass(frozen=True)
class ProviderTotals:
    provider: str
    calls: dict[str, int]
    """Attempts by outcome (ok, rate_limited, server_error ...)."""
    latency_seconds: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    breaker: str


def provider_totals(db: sqlite3.Connection) -> list[ProviderTotals]:
    rows = db.execute(
        "SELECT provider, outcomes, latency_ms_total, prompt_tokens, completion_tokens,"
        " cost_usd, breaker FROM providers ORDER BY provider"
    ).fetchall()
    return [
        ProviderTotals(
            provider=row[0],
            calls=_outcomes(row[1]),
            latency_seconds=row[2] / 1000,
            prompt_tokens=row[3],
            completion_tokens=row[4],
            cost_usd=row[5],
            breaker=row[6],
        )
        for row in rows
    ]


def webhook_deliveries_by_status(db: sqlite3.Connection) -> dict[str, int]:
    return dict(
        db.execute("SELECT status, count(*) FROM webhook_deliveries GROUP BY status").fetchall()
    )
