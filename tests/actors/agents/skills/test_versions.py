"""Software versions against the bundled endoflife.date snapshot and CVE list."""

from __future__ import annotations

import datetime

from actors.agents.skills.vulnerability_scanning import versions

DAY = datetime.date(2026, 12, 6)


def _rules(header: str, value: str, today: datetime.date = DAY) -> set[str]:
    return {f.rule_id for f in versions.findings(header, value, "http://h/", today)}


def test_the_snapshot_says_where_and_when_it_comes_from() -> None:
    data = versions.table()
    assert data["date"] == "2026-08-22" and len(data["commit"]) == 40
    assert "endoflife.date" in data["source"]


def test_products_and_versions_are_read_from_headers() -> None:
    assert versions.named("Apache/2.4.49 (Unix) OpenSSL/1.0.2k PHP/7.4.3") == [
        ("apache-http-server", "2.4.49"),
        ("php", "7.4.3"),
        ("openssl", "1.0.2"),
    ]
    assert versions.named("BaseHTTP/0.6 Python/3.11.7") == [("python", "3.11.7")]
    assert versions.named("nginx") == []


def test_end_of_life_follows_the_date_of_the_release_cycle() -> None:
    assert _rules("Server", "nginx/1.18.0") == {"eol-nginx"}  # EOL 2021-04-20
    assert _rules("Server", "nginx/1.30.1") == set()  # supported
    assert _rules("X-Powered-By", "PHP/8.2.1") == set()  # EOL 2026-12-31: not yet
    assert _rules("X-Powered-By", "PHP/8.2.1", datetime.date(2027, 1, 1)) == {"eol-php"}
    assert _rules("Server", "Apache/2.4.58 OpenSSL/1.1.1w") == {"eol-openssl"}
    assert _rules("Server", "nginx/1.17.3") == set()  # a cycle the snapshot lacks: not judged


def test_exact_versions_with_a_critical_cve_are_named() -> None:
    [cve] = versions.findings("Server", "Apache/2.4.50", "http://h/", DAY)
    assert (cve.rule_id, cve.severity, cve.confidence) == ("CVE-2021-42013", "critical", "medium")
