"""A DNS server on 127.0.0.1 for tests: answers from a dict, over UDP (dnspython's wire
format), and counts the questions it was asked."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

Zone = dict[tuple[str, str], list[str]]
"""(name, type) -> the records' text, e.g. ("site.test.", "MX"): ["10 mail.site.test."]."""


class _Answering(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone, asked: list[tuple[str, str]]) -> None:
        self.zone = zone
        self.asked = asked
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name, kind = question.name.to_text(), dns.rdatatype.to_text(question.rdtype)
        self.asked.append((name, kind))
        if not any(known == name for known, _ in self.zone):
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif (name, kind) in self.zone:
            response.answer.append(
                dns.rrset.from_text_list(name, 300, "IN", kind, self.zone[(name, kind)])
            )
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


@contextlib.asynccontextmanager
async def dns_server(zone: Zone) -> AsyncIterator[tuple[int, list[tuple[str, str]]]]:
    """(port, questions asked) of a DNS server answering `zone` on 127.0.0.1."""
    asked: list[tuple[str, str]] = []
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _Answering(zone, asked), local_addr=("127.0.0.1", 0)
    )
    try:
        yield transport.get_extra_info("sockname")[1], asked
    finally:
        transport.close()
