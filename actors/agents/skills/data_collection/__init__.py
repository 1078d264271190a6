"""`data_collection`: public records of an in-scope name: its DNS records and the names
on the TLS certificates it serves.

DNS questions go to AMAS_DNS_RESOLVER when it is set (the tests start their own
server), else to the system's resolver; each record type is asked once, and an
answer's absence (NXDOMAIN, no answer, a timeout) is reported as such, never as an
empty success. Certificates are read only from addresses inside the scan scope.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Annotated, Any, Literal

import dns.asyncresolver
import dns.exception
import dns.resolver
import msgspec

from actors.agents.scope import Scopes
from actors.agents.skills.base import Context, Progress, Skill
from actors.agents.skills.vulnerability_scanning.tls import check
from actors.errors import InvalidParameter

RecordType = Literal["A", "AAAA", "MX", "TXT", "NS", "CNAME"]
_ALL: tuple[RecordType, ...] = ("A", "AAAA", "MX", "TXT", "NS", "CNAME")
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]


class CollectParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=253)]
    """A host name inside AMAS_SCAN_SCOPE."""
    record_types: list[RecordType] = msgspec.field(default_factory=lambda: list(_ALL))
    tls_ports: Annotated[list[Port], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=lambda: [443]
    )
    timeout: Annotated[float, msgspec.Meta(gt=0, le=30)] = 3.0


class Records(msgspec.Struct, frozen=True, kw_only=True):
    type: RecordType
    status: Literal["ok", "nxdomain", "no-answer", "timeout", "error"]
    values: list[str]
    ttl: int | None = None


class CertificateNames(msgspec.Struct, frozen=True, kw_only=True):
    address: str
    port: int
    names: list[str]
    subject: str
    issuer: str
    not_after: str


class CollectResult(msgspec.Struct, frozen=True, kw_only=True):
    target: str
    resolver: str
    records: list[Records]
    certificates: list[CertificateNames]
    skipped_addresses: list[str]
    """Resolved addresses outside the scan scope: listed, never contacted."""


def _check(params: CollectParams, scopes: Scopes) -> None:
    try:
        ipaddress.ip_address(params.target.strip("[]"))
    except ValueError:
        scopes.network.check_host("target", params.target)
        return
    raise InvalidParameter("target", "a host name, not an address: DNS records are of names")


def _resolver(scopes: Scopes, timeout: float) -> dns.asyncresolver.Resolver:
    if scopes.dns_resolver is None:
        resolver = dns.asyncresolver.Resolver()
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [scopes.dns_resolver[0]]
        resolver.port = scopes.dns_resolver[1]
    resolver.lifetime = timeout
    return resolver


async def _ask(resolver: dns.asyncresolver.Resolver, name: str, kind: RecordType) -> Records:
    try:
        answer = await resolver.resolve(name, kind, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return Records(type=kind, status="nxdomain", values=[])
    except dns.exception.Timeout:
        return Records(type=kind, status="timeout", values=[])
    except dns.exception.DNSException as e:
        return Records(type=kind, status="error", values=[f"{type(e).__name__}: {e}"])
    if answer.rrset is None:
        return Records(type=kind, status="no-answer", values=[])
    values = sorted(_text(record, kind) for record in answer.rrset)
    return Records(type=kind, status="ok", values=values, ttl=answer.rrset.ttl)


def _text(record: Any, kind: RecordType) -> str:
    if kind == "TXT":
        return b"".join(record.strings).decode("utf-8", errors="replace")
    if kind == "MX":
        return f"{record.preference} {record.exchange.to_text(omit_final_dot=True)}"
    if kind in ("NS", "CNAME"):
        return str(record.target.to_text(omit_final_dot=True))
    return str(record.to_text())


async def collect(params: CollectParams, progress: Progress, context: Context) -> dict[str, Any]:
    scopes = context.scopes
    resolver = _resolver(scopes, params.timeout)
    kinds = list(dict.fromkeys(params.record_types))
    records = list(await asyncio.gather(*(_ask(resolver, params.target, k) for k in kinds)))
    await progress(60, f"{sum(len(r.values) for r in records)} records")
    addresses = [v for r in records if r.type in ("A", "AAAA") for v in r.values]
    inside = [a for a in addresses if scopes.network.allows_address(a)]
    probes = [(address, port) for address in inside for port in params.tls_ports]
    reports = await asyncio.gather(
        *(check(address, port, params.target, params.timeout) for address, port in probes)
    )
    certificates = [
        CertificateNames(
            address=address,
            port=report.port,
            names=report.certificate.names,
            subject=report.certificate.subject,
            issuer=report.certificate.issuer,
            not_after=report.certificate.not_after,
        )
        for (address, _), report in zip(probes, reports, strict=True)
        if report is not None and report.certificate is not None
    ]
    where = "system" if scopes.dns_resolver is None else "{}:{}".format(*scopes.dns_resolver)
    result = CollectResult(
        target=params.target,
        resolver=where,
        records=records,
        certificates=certificates,
        skipped_addresses=[a for a in addresses if a not in inside],
    )
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]


SKILL = Skill("data_collection", CollectParams, collect, _check)
