"""The allow-lists: what is in scope, what is refused, and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.agents.scope import CodeScope, NetworkScope
from actors.errors import InvalidParameter, OutOfScope


def test_the_default_scan_scope_is_loopback() -> None:
    scope = NetworkScope.parse(None)
    assert scope.allows_address("127.0.0.1") and scope.allows_address("127.9.9.9")
    assert scope.allows_address("::1") and scope.allows_address("::ffff:127.0.0.1")
    assert not scope.allows_address("10.0.0.1") and not scope.allows_address("::2")
    assert scope.allows_name("localhost") and scope.allows_name("LOCALHOST.")
    assert not scope.allows_name("example.com")


def test_names_and_subdomains_are_checked_before_anything_resolves() -> None:
    scope = NetworkScope.parse("127.0.0.1/32,site.test,*.corp.test")
    scope.check_host("target", "site.test")
    scope.check_host("target", "a.b.corp.test")
    for outside in ("sub.site.test", "corp.test.evil", "evil-corp.test", "127.0.0.2", "[::1]"):
        with pytest.raises(OutOfScope) as refused:
            scope.check_host("target", outside)
        assert refused.value.name == "target" and refused.value.target == outside


def test_resolved_addresses_outside_the_cidrs_are_refused() -> None:
    scope = NetworkScope.parse("127.0.0.1/32,site.test")
    scope.check_addresses("target", "site.test", ["127.0.0.1"])
    with pytest.raises(OutOfScope, match=r"resolves to 127\.0\.0\.2"):
        scope.check_addresses("target", "site.test", ["127.0.0.1", "127.0.0.2"])


@pytest.mark.parametrize("bad", ["not a host", "-bad.test", "a..b", "300.1.1.1/8x"])
def test_a_scan_scope_entry_that_is_neither_cidr_nor_name_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="neither a CIDR nor a host name"):
        NetworkScope.parse(f"127.0.0.1,{bad}")


def test_code_paths_resolve_symlinks_and_dots_before_the_check(tmp_path: Path) -> None:
    inside = tmp_path / "code"
    (inside / "pkg").mkdir(parents=True)
    (inside / "escape").symlink_to("/etc")
    scope = CodeScope.parse(str(inside), tmp_path)

    assert scope.resolve("path", str(inside / "pkg" / ".." / "pkg")) == inside / "pkg"
    for outside in (str(inside / ".."), str(inside / "escape"), "/etc/passwd"):
        with pytest.raises(OutOfScope):
            scope.resolve("path", outside)
    with pytest.raises(InvalidParameter):
        scope.resolve("path", "a\x00b")


def test_the_code_scope_defaults_to_the_given_folder(tmp_path: Path) -> None:
    assert CodeScope.parse(None, tmp_path).folders == (tmp_path.resolve(),)
