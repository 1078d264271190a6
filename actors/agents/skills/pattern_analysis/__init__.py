"""`pattern_analysis`: the entities across collected data, deduplicated, each with where
it was seen: emails grouped by domain (generic or personal), phone numbers, and hosts
and certificates that several sources share.

Input is earlier tasks (`task_ids` of web_scraping and data_collection tasks) and/or
`data` in the same shapes. A generic address is one whose local part names a role, not
a person (the list below, after SpiderFoot's `_genericusers`); `affiliate` marks a
domain other than the target's.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec

from actors.agents.scope import Scopes
from actors.agents.skills.base import Context, Progress, Skill
from actors.errors import InvalidParameter

_GENERIC = frozenset((
    "abuse", "admin", "billing", "careers", "contact", "enquiries", "hello", "help", "hr",
    "info", "jobs", "legal", "mail", "marketing", "no-reply", "noc", "noreply", "office",
    "postmaster", "press", "privacy", "sales", "security", "support", "team", "webmaster",
))  # fmt: skip


class PatternParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_ids: Annotated[list[str], msgspec.Meta(max_length=100)] = []
    data: Annotated[list[dict[str, Any]], msgspec.Meta(max_length=100)] = []
    """Results in the shapes web_scraping and data_collection return."""
    domain: str | None = None
    """The target's domain, to tell its addresses from affiliates' (default: the first
    target named in the data)."""


class EmailEntity(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    kind: str
    affiliate: bool
    seen_on: list[str]


class Entity(msgspec.Struct, frozen=True, kw_only=True):
    value: str
    seen_on: list[str]


class PatternResult(msgspec.Struct, frozen=True, kw_only=True):
    domain: str | None
    emails_by_domain: dict[str, list[EmailEntity]]
    phones: list[Entity]
    shared_hosts: list[Entity]
    """Hosts named by more than one source: linked pages, MX/NS/CNAME, certificates."""
    certificates: list[Entity]
    """Each certificate's names, with the address:port pairs that serve it."""
    sources: dict[str, str]


def _check(params: PatternParams, scopes: Scopes) -> None:
    if not params.task_ids and not params.data:
        raise InvalidParameter("task_ids", "give task_ids of collection tasks, or data")


async def analyse(params: PatternParams, progress: Progress, context: Context) -> dict[str, Any]:
    inputs = [(f"data[{i}]", result) for i, result in enumerate(params.data)]
    sources: dict[str, str] = {}
    for task_id in dict.fromkeys(params.task_ids):
        task = await context.read_task(task_id)
        result = task.get("result") if task else None
        if task is None or not isinstance(result, dict):
            sources[task_id] = "unknown task" if task is None else "no result"
            continue
        inputs.append((task_id, result))
        sources[task_id] = f"used ({task.get('task_type')})"
    domain = params.domain or next(
        (_host(str(r["target"])) for _, r in inputs if r.get("target")), None
    )
    emails: dict[str, set[str]] = defaultdict(set)
    phones: dict[str, set[str]] = defaultdict(set)
    hosts: dict[str, set[str]] = defaultdict(set)
    certificates: dict[str, set[str]] = defaultdict(set)
    for source, result in inputs:
        for email in result.get("emails") or []:
            emails[str(email["email"]).lower()].update(email.get("pages") or [source])
        for phone in result.get("phones") or []:
            phones[str(phone["number"])].update(phone.get("pages") or [source])
        for url in (result.get("links") or {}).get("external") or []:
            hosts[_host(str(url))].add(f"{source}: link")
        for record in result.get("records") or []:
            if record.get("type") in ("MX", "NS", "CNAME"):
                for value in record.get("values") or []:
                    host = str(value).split()[-1].rstrip(".").lower()  # MX: "10 mail.x"
                    hosts[host].add(f"{source}: {record['type']}")
        for cert in result.get("certificates") or []:
            names = ", ".join(sorted(cert.get("names") or []))
            certificates[names].add(f"{cert.get('address')}:{cert.get('port')}")
            for name in cert.get("names") or []:
                hosts[str(name).lower()].add(f"{source}: certificate")
    await progress(80, f"{len(emails)} emails, {len(phones)} phones, {len(hosts)} hosts")
    by_domain: dict[str, list[EmailEntity]] = defaultdict(list)
    for email in sorted(emails):
        local, _, at = email.partition("@")
        by_domain[at].append(
            EmailEntity(
                email=email,
                kind="generic" if local in _GENERIC else "personal",
                affiliate=domain is not None and at != domain and not at.endswith("." + domain),
                seen_on=sorted(emails[email]),
            )
        )
    result = PatternResult(
        domain=domain,
        emails_by_domain=dict(sorted(by_domain.items())),
        phones=[Entity(value=p, seen_on=sorted(s)) for p, s in sorted(phones.items())],
        shared_hosts=[
            Entity(value=h, seen_on=sorted(s))
            for h, s in sorted(hosts.items())
            if len(s) > 1  # seen by two sources, or two kinds of evidence
        ],
        certificates=[Entity(value=n, seen_on=sorted(s)) for n, s in sorted(certificates.items())],
        sources=sources,
    )
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]


def _host(target: str) -> str:
    host = urlsplit(target if "//" in target else f"//{target}").hostname or target
    return host.rstrip(".").lower()


SKILL = Skill("pattern_analysis", PatternParams, analyse, _check)
