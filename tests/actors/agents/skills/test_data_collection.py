"""data_collection against a DNS server and an HTTPS server this test starts on
127.0.0.1; the system's resolver is never asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trustme

from actors.agents.scope import CodeScope, NetworkScope, Scopes
from actors.agents.skills import SKILLS
from actors.errors import InvalidParameter, OutOfScope
from tests.fakes.dns_server import dns_server

from .test_http_audit import site
from .test_tls import HELLO, _server_context
from .test_vulnerability_scanning import _quiet

COLLECT = SKILLS["data_collection"]
ZONE = {
    ("site.test.", "A"): ["127.0.0.1", "10.9.9.9"],
    ("site.test.", "MX"): ["10 mail.site.test."],
    ("site.test.", "TXT"): ['"v=spf1 -all"'],
    ("site.test.", "NS"): ["ns1.site.test."],
}


def _scopes(port: int) -> Scopes:
    return Scopes(
        NetworkScope.parse("127.0.0.1/32,site.test,nope.site.test"),
        CodeScope.parse(None, Path.cwd()),
        ("127.0.0.1", port),
    )


async def test_records_and_certificate_names_of_an_in_scope_name(tmp_path: Path) -> None:
    leaf = trustme.CA().issue_cert("site.test", "www.site.test")
    context = _server_context(
        leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes(), tmp_path
    )
    async with dns_server(ZONE) as (dns_port, asked), site(HELLO, tls=context) as tls_port:
        result = await COLLECT(
            {"target": "site.test", "tls_ports": [tls_port]}, _quiet, _scopes(dns_port)
        )

    records = {r["type"]: (r["status"], r["values"]) for r in result["records"]}
    assert records == {
        "A": ("ok", ["10.9.9.9", "127.0.0.1"]),
        "AAAA": ("no-answer", []),
        "MX": ("ok", ["10 mail.site.test"]),
        "TXT": ("ok", ["v=spf1 -all"]),
        "NS": ("ok", ["ns1.site.test"]),
        "CNAME": ("no-answer", []),
    }
    assert sorted(kind for _, kind in asked) == sorted(records)  # each type asked once
    [certificate] = result["certificates"]
    assert certificate["address"] == "127.0.0.1"
    assert certificate["names"] == ["site.test", "www.site.test"]
    assert result["skipped_addresses"] == ["10.9.9.9"]  # outside the scope: never contacted
    assert result["resolver"] == f"127.0.0.1:{dns_port}"


async def test_a_name_that_does_not_exist_says_so() -> None:
    async with dns_server(ZONE) as (dns_port, _):
        result = await COLLECT(
            {"target": "nope.site.test", "record_types": ["A"]}, _quiet, _scopes(dns_port)
        )
    assert result["records"] == [{"type": "A", "status": "nxdomain", "values": [], "ttl": None}]


@pytest.mark.parametrize(
    ("parameters", "error", "name"),
    [
        ({"target": "127.0.0.1"}, InvalidParameter, "target"),
        ({"target": "site.test", "record_types": ["SOA"]}, InvalidParameter, "record_types[0]"),
        ({"target": "site.test", "tls_ports": [0]}, InvalidParameter, "tls_ports[0]"),
        ({"target": "example.com"}, OutOfScope, "target"),
    ],
)
def test_bad_parameters_and_names_outside_the_scope_are_refused(
    parameters: dict[str, Any], error: type[Exception], name: str
) -> None:
    with pytest.raises(error) as refused:
        COLLECT.validate(parameters, _scopes(53))
    assert getattr(refused.value, "name", None) == name
