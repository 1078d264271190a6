"""The fake GitHub itself, spoken to without our client: what it answers as GitHub does,
and its refusal of every write to the default branch, the guard behind the client's own."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest

from tests.fakes.github import FakeGitHub, blob_sha

HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


def auth(gh: FakeGitHub) -> dict[str, str]:
    return {**HEADERS, "Authorization": f"Bearer {gh.token}"}


async def test_a_wrong_token_gets_githubs_bad_credentials(
    gh: FakeGitHub, http: httpx.AsyncClient
) -> None:
    answer = await http.get(
        f"{gh.base_url}/repos/owner/repo", headers={**HEADERS, "Authorization": "Bearer nope"}
    )
    assert answer.status_code == 401
    assert answer.json() == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    }


async def test_a_write_without_a_token_requires_authentication(
    gh: FakeGitHub, http: httpx.AsyncClient
) -> None:
    gh.add_issue("x")
    answer = await http.post(
        f"{gh.base_url}/repos/owner/repo/issues/1/comments", json={"body": "hi"}, headers=HEADERS
    )
    assert (answer.status_code, answer.json()["message"]) == (401, "Requires authentication")
    assert gh.comments == {}


async def test_every_answer_carries_rate_limit_headers(
    gh: FakeGitHub, http: httpx.AsyncClient
) -> None:
    first = await http.get(f"{gh.base_url}/repos/owner/repo", headers=auth(gh))
    second = await http.get(f"{gh.base_url}/repos/owner/repo/nothing", headers=auth(gh))
    assert first.headers["x-ratelimit-limit"] == "5000"
    assert int(first.headers["x-ratelimit-remaining"]) == 4999
    assert int(second.headers["x-ratelimit-remaining"]) == 4998
    assert int(second.headers["x-ratelimit-reset"]) > 0
    assert second.status_code == 404


async def test_an_unknown_api_version_is_a_400(gh: FakeGitHub, http: httpx.AsyncClient) -> None:
    answer = await http.get(
        f"{gh.base_url}/repos/owner/repo", headers={"X-GitHub-Api-Version": "2099-01-01"}
    )
    assert answer.status_code == 400


def put_readme(gh: FakeGitHub, **branch: str) -> dict[str, str]:
    sha = blob_sha(gh.contents["main"]["README.md"])
    return {"message": "x", "content": base64.b64encode(b"pwned").decode(), "sha": sha, **branch}


DEFAULT_BRANCH_WRITES: dict[str, Callable[[FakeGitHub], tuple[str, str, object]]] = {
    "create the ref": lambda gh: (
        "POST",
        "/git/refs",
        {"ref": "refs/heads/main", "sha": gh.refs["main"]},
    ),
    "move the ref": lambda gh: ("PATCH", "/git/refs/heads/main", {"sha": gh.refs["main"]}),
    "delete the ref": lambda gh: ("DELETE", "/git/refs/heads/main", None),
    "commit a file": lambda gh: ("PUT", "/contents/README.md", put_readme(gh, branch="main")),
    "commit without a branch": lambda gh: ("PUT", "/contents/README.md", put_readme(gh)),
    "open a pull request from it": lambda gh: (
        "POST",
        "/pulls",
        {"title": "x", "head": "main", "base": "main", "draft": True},
    ),
}


@pytest.mark.parametrize("write", DEFAULT_BRANCH_WRITES.values(), ids=DEFAULT_BRANCH_WRITES)
async def test_writes_to_the_default_branch_are_refused(
    gh: FakeGitHub, http: httpx.AsyncClient, write: Callable[[FakeGitHub], tuple[str, str, object]]
) -> None:
    method, path, body = write(gh)
    before = (dict(gh.refs), dict(gh.contents["main"]), list(gh.pulls))
    answer = await http.request(
        method, f"{gh.base_url}/repos/owner/repo{path}", json=body, headers=auth(gh)
    )
    assert answer.status_code == 422
    assert "default branch" in answer.json()["message"]
    assert (gh.refs, gh.contents["main"], gh.pulls) == before


async def test_a_pull_request_lists_among_the_issues(
    gh: FakeGitHub, http: httpx.AsyncClient
) -> None:
    api = f"{gh.base_url}/repos/owner/repo"
    ref = {"ref": "refs/heads/amas/issue-1", "sha": gh.refs["main"]}
    assert (await http.post(f"{api}/git/refs", json=ref, headers=auth(gh))).status_code == 201
    pull = {"title": "Fix", "head": "amas/issue-1", "base": "main", "draft": True}
    created = await http.post(f"{api}/pulls", json=pull, headers=auth(gh))
    assert created.status_code == 201
    assert created.json()["draft"] is True
    [listed] = (await http.get(f"{api}/issues", headers=auth(gh))).json()
    assert listed["number"] == created.json()["number"]
    assert "pull_request" in listed


async def test_replacing_a_file_needs_its_current_blob_sha(
    gh: FakeGitHub, http: httpx.AsyncClient
) -> None:
    api = f"{gh.base_url}/repos/owner/repo"
    ref = {"ref": "refs/heads/fix", "sha": gh.refs["main"]}
    await http.post(f"{api}/git/refs", json=ref, headers=auth(gh))
    put = {"message": "m", "content": base64.b64encode(b"new").decode(), "branch": "fix"}
    missing = await http.put(f"{api}/contents/README.md", json=put, headers=auth(gh))
    stale = await http.put(
        f"{api}/contents/README.md", json={**put, "sha": "0" * 40}, headers=auth(gh)
    )
    assert (missing.status_code, stale.status_code) == (422, 409)
    assert gh.contents["fix"]["README.md"] == b"# repo\n"
