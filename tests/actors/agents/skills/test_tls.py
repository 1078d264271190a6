"""The TLS check against HTTPS servers this test starts on 127.0.0.1: one with a CA-made
certificate for 127.0.0.1, one self-signed for another name that expires in 10 days."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from actors.agents.skills import SKILLS
from actors.agents.skills.vulnerability_scanning.tls import check

from .test_http_audit import Page, site
from .test_vulnerability_scanning import SCOPES, _quiet

HELLO: dict[str, Page] = {"/": (200, [("Strict-Transport-Security", "max-age=60")], b"hi")}


def _server_context(cert_pem: bytes, key_pem: bytes, folder: Path) -> ssl.SSLContext:
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


def _self_signed(name: str, days: int) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


async def test_a_ca_certificate_for_the_target_has_no_certificate_finding(tmp_path: Path) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    context = _server_context(
        leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes(), tmp_path
    )
    async with site(HELLO, tls=context) as port:
        report = await check("127.0.0.1", port, "127.0.0.1", 3.0)

    assert report is not None
    assert report.negotiated in ("TLSv1.2", "TLSv1.3") and report.cipher
    assert "TLSv1.2" in report.protocols and "TLSv1.1" not in report.protocols
    assert report.certificate is not None
    assert report.certificate.matches_target and not report.certificate.self_signed
    assert report.certificate.days_left > 60
    assert report.findings == []


async def test_a_self_signed_soon_expiring_certificate_for_another_name(tmp_path: Path) -> None:
    context = _server_context(*_self_signed("other.test", 10), tmp_path)
    async with site(HELLO, tls=context) as port:
        report = await check("127.0.0.1", port, "127.0.0.1", 3.0)

    assert report is not None and report.certificate is not None
    assert report.certificate.self_signed and report.certificate.names == ["other.test"]
    severities = {f.rule_id: f.severity for f in report.findings}
    assert severities == {
        "tls-certificate-self-signed": "critical",
        "tls-certificate-expires-soon": "high",
        "tls-certificate-name-mismatch": "high",
    }


async def test_a_plain_port_is_not_tls() -> None:
    async with site(HELLO) as port:
        assert await check("127.0.0.1", port, "127.0.0.1", 1.0) is None


async def test_a_deep_scan_audits_https_with_its_certificate(tmp_path: Path) -> None:
    context = _server_context(*_self_signed("127.0.0.1", 365), tmp_path)
    async with site(HELLO, tls=context) as port:
        result = await SKILLS["vulnerability_scanning"](
            {"target": "127.0.0.1", "ports": [port], "depth": "deep"}, _quiet, SCOPES
        )
    [tls] = result["tls"]
    [web] = result["http"]
    assert tls["port"] == port and web["url"] == f"https://127.0.0.1:{port}/"
    rules = {f["rule_id"] for f in result["findings"]}
    assert "tls-certificate-self-signed" in rules
    assert "hsts-implemented-max-age-less-than-six-months" in rules  # HTTPS graded as such
