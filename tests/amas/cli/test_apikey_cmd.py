"""`amas api-key` and the first admin key, against real `amas serve` processes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.api.support import files_containing
from tests.conftest import CLIENT_TLS
from tests.served import clean_env, run_cli, serve_process, wait_until

_BANNER_KEY = re.compile(r"^\s+key\s+(amas_\S+)$", re.MULTILINE)


def _get(base: str, path: str, key: str) -> httpx.Response:
    return httpx.get(f"{base}{path}", headers={"X-API-Key": key}, timeout=10, verify=CLIENT_TLS)


def test_a_first_start_makes_an_admin_key_and_shows_it_once(tmp_path: Path) -> None:
    with serve_process(tmp_path) as node:
        wait_until(lambda: _BANNER_KEY.search(node.output()), "the banner shows a key")
        [admin] = _BANNER_KEY.findall(node.output())
        listed = _get(node.base, "/api-keys", admin)
        assert listed.status_code == 200, listed.text
        [only] = listed.json()["api_keys"]
        assert only["scopes"] == ["admin", "read", "write"] and only["tier"] == "enterprise"
        assert node.output().count(admin) == 1
        assert not files_containing(node.data_dir, admin.split("_", 2)[2])

    with serve_process(tmp_path) as again:  # the same data folder: no second key
        wait_until(lambda: "ready" in again.output(), "the second start is ready")
        assert not _BANNER_KEY.search(again.output())
        assert _get(again.base, "/api-keys", admin).status_code == 200


def test_a_key_made_with_the_cli_works_against_the_running_server(tmp_path: Path) -> None:
    env = clean_env(AMAS_API_KEY="admin-from-the-environment")
    with serve_process(tmp_path, env=env, args=("--log-level", "DEBUG")) as node:
        assert not _BANNER_KEY.search(node.output())  # AMAS_API_KEY is set: no key made
        made = node.cli(
            "api-key", "generate", "--name", "CLI app", "--tier", "basic", "--scope", "read"
        )
        assert made.returncode == 0, made.stderr
        raw = made.stdout.strip()
        assert raw.startswith("amas_") and "shown once" in made.stderr.lower()

        answer = _get(node.base, "/tasks", raw)  # at once: no wait, no retry
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-ratelimit-limit"] == "1000"
        assert _get(node.base, "/api-keys", raw).status_code == 403

        listed = node.cli("api-key", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        key_id = raw.split("_")[1]
        [entry] = [k for k in json.loads(listed.stdout) if k["key_id"] == key_id]
        assert entry["name"] == "CLI app" and entry["status"] == "active"
        assert raw not in listed.stdout

        rotated = node.cli("api-key", "rotate", key_id, "--expires", "7d")
        assert rotated.returncode == 0, rotated.stderr
        new_raw = rotated.stdout.strip()
        assert new_raw.startswith(f"amas_{key_id}_") and new_raw != raw
        assert _get(node.base, "/tasks", raw).status_code == 401  # the old secret, at once
        assert _get(node.base, "/tasks", new_raw).status_code == 200
        raw_secrets = [raw.split("_", 2)[2], new_raw.split("_", 2)[2]]
        raw = new_raw

        revoked = node.cli("api-key", "revoke", key_id)
        assert revoked.returncode == 0, revoked.stderr
        assert _get(node.base, "/tasks", raw).status_code == 401  # at once
        assert node.cli("api-key", "revoke", key_id).returncode == 1

        for secret in raw_secrets:
            assert not files_containing(node.data_dir, secret)
            assert secret not in node.output()


def test_keys_made_while_no_node_runs_work_when_it_starts(tmp_path: Path) -> None:
    data_dir = str((tmp_path / "data").resolve())
    made = run_cli(
        "api-key", "generate", "--name", "offline", "--expires", "30d", "--data-dir", data_dir
    )
    assert made.returncode == 0, made.stderr
    raw = made.stdout.strip()
    listed = run_cli("api-key", "list", "--data-dir", data_dir)
    assert "offline" in listed.stdout and "active" in listed.stdout

    with serve_process(tmp_path) as node:
        assert not _BANNER_KEY.search(node.output())  # there is a key already
        assert _get(node.base, "/tasks", raw).status_code == 200


def test_amas_api_key_is_read_from_dot_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('# local settings\nAMAS_API_KEY="from-dot-env-123"\n')
    with serve_process(tmp_path) as node:  # runs in tmp_path, where .env is
        assert _get(node.base, "/api-keys", "from-dot-env-123").status_code == 200
        assert not _BANNER_KEY.search(node.output())
