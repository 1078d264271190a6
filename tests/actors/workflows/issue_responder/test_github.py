"""GitHubClient against the fake GitHub: reading issues, the branch-file-draft-PR flow,
the refusals made before any request, the write throttle and rate-limit answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from actors.errors import InvalidParameter
from actors.workflows.issue_responder.github import (
    GitHubClient,
    GitHubError,
    Issue,
    WriteThrottle,
)
from tests.fakes.github import (
    TOKEN,
    Answer,
    FakeGitHub,
    error,
    primary_limit,
    secondary_limit,
)

Write = Callable[[GitHubClient], Awaitable[Any]]


async def test_list_issues_follows_link_pages_and_leaves_out_pull_requests(
    gh: FakeGitHub, github: GitHubClient
) -> None:
    gh.page_size = 2
    for n in range(7):
        gh.add_issue(f"item {n + 1}", pull_request=n in (1, 4))
    issues = await github.list_issues()
    assert [i.number for i in issues] == [7, 6, 4, 3, 1]
    assert [r.query.get("page", "1") for r in gh.requests] == ["1", "2", "3", "4"]


async def test_list_issues_stops_asking_once_it_has_enough(
    gh: FakeGitHub, github: GitHubClient
) -> None:
    gh.page_size = 2
    for n in range(9):
        gh.add_issue(f"issue {n + 1}")
    assert [i.number for i in await github.list_issues(limit=3)] == [9, 8, 7]
    assert gh.count("GET", "/issues") == 2


async def test_list_issues_reads_githubs_fields(gh: FakeGitHub, github: GitHubClient) -> None:
    gh.add_issue("Crash on start", None, labels=["bug", "ui"], author="alice")
    gh.add_issue("Old one", "fixed", state="closed")
    [issue] = await github.list_issues(labels=["bug", "ui"])
    assert issue == Issue(
        number=1,
        title="Crash on start",
        body="",  # GitHub sends null for an empty body
        labels=["bug", "ui"],
        author="alice",
        url=f"{gh.base_url}/owner/repo/issues/1",
        created_at="2026-11-02T10:00:00Z",
    )
    assert gh.requests[0].query == {"state": "open", "per_page": "100", "labels": "bug,ui"}
    assert [i.title for i in await github.list_issues(state="closed")] == ["Old one"]


async def test_list_issues_refuses_an_unknown_state(github: GitHubClient) -> None:
    with pytest.raises(InvalidParameter):
        await github.list_issues(state="opened")


async def test_requests_carry_githubs_headers(gh: FakeGitHub, github: GitHubClient) -> None:
    gh.add_issue("x")
    await github.get_issue(1)
    headers = gh.requests[0].headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert headers["user-agent"].startswith("amas")


async def test_get_issue_refuses_a_pull_request(gh: FakeGitHub, github: GitHubClient) -> None:
    gh.add_issue("Bump deps", pull_request=True)
    with pytest.raises(GitHubError, match="pull request"):
        await github.get_issue(1)


async def test_a_missing_issue_is_a_404(github: GitHubClient) -> None:
    with pytest.raises(GitHubError) as caught:
        await github.get_issue(42)
    assert caught.value.status == 404
    assert caught.value.retry_after is None


async def test_comment_posts_the_body_and_returns_its_url(
    gh: FakeGitHub, github: GitHubClient
) -> None:
    gh.add_issue("Crash")
    url = await github.comment(1, "Thanks, looking into it.")
    assert url == f"{gh.base_url}/owner/repo/issues/1#issuecomment-1"
    assert gh.comments[1][0]["body"] == "Thanks, looking into it."


async def test_a_fix_goes_on_its_own_branch_as_a_draft_pull_request(
    gh: FakeGitHub, github: GitHubClient
) -> None:
    main_before = dict(gh.contents["main"])
    base = await github.default_branch()
    sha = await github.branch_sha(base)
    await github.create_branch("amas/issue-1", sha)
    first = await github.put_file("amas/issue-1", "docs/fix.md", b"one\n", "Fix #1")
    second = await github.put_file("amas/issue-1", "README.md", b"# fixed\n", "Fix #1, again")
    number, url = await github.create_draft_pr("amas/issue-1", base, "Fix #1", "Fixes #1")

    assert (base, sha) == ("main", gh.refs["main"])
    assert gh.refs["amas/issue-1"] == second != first
    assert gh.contents["amas/issue-1"]["README.md"] == b"# fixed\n"
    assert gh.contents["main"] == main_before
    [pull] = gh.pulls
    assert (pull["number"], pull["html_url"]) == (number, url)
    assert pull["draft"] is True
    assert (pull["head"]["ref"], pull["base"]["ref"]) == ("amas/issue-1", "main")
    put_readme = [r for r in gh.writes() if r.path.endswith("/README.md")]
    assert put_readme[0].body["sha"]  # replacing a file names the blob it replaces
    assert all("main" not in str(r.body.get("branch")) for r in gh.writes())


async def test_githubs_validation_details_are_in_the_message(
    gh: FakeGitHub, github: GitHubClient
) -> None:
    await github.create_branch("amas/issue-1", gh.refs["main"])
    await github.create_draft_pr("amas/issue-1", "main", "Fix", "")
    with pytest.raises(GitHubError, match="A pull request already exists") as caught:
        await github.create_draft_pr("amas/issue-1", "main", "Fix", "")
    assert caught.value.status == 422
    with pytest.raises(GitHubError, match="Validation Failed; PullRequest head invalid"):
        await github.create_draft_pr("amas/no-such-branch", "main", "Fix", "")


DEFAULT_BRANCH_WRITES: dict[str, Write] = {
    "branch": lambda c: c.create_branch("main", "0" * 40),
    "branch by its ref": lambda c: c.create_branch("refs/heads/main", "0" * 40),
    "branch in another case": lambda c: c.create_branch("Main", "0" * 40),
    "file": lambda c: c.put_file("main", "README.md", b"pwned", "x"),
    "pull request": lambda c: c.create_draft_pr("main", "dev", "x", "y"),
}


@pytest.mark.parametrize("write", DEFAULT_BRANCH_WRITES.values(), ids=DEFAULT_BRANCH_WRITES)
async def test_writes_to_the_default_branch_are_refused_before_any_write(
    gh: FakeGitHub, github: GitHubClient, write: Write
) -> None:
    before = (dict(gh.refs), dict(gh.contents["main"]))
    with pytest.raises(GitHubError, match="default branch") as caught:
        await write(github)
    assert caught.value.status is None
    assert gh.writes() == []
    assert [(r.method, r.path) for r in gh.requests] == [("GET", "/repos/owner/repo")]
    assert (gh.refs, gh.contents["main"]) == before


async def test_the_default_branch_is_asked_once(gh: FakeGitHub, github: GitHubClient) -> None:
    for _ in range(3):
        with pytest.raises(GitHubError):
            await github.create_branch("main", "0" * 40)
    assert gh.count("GET") == 1


async def test_a_pull_request_into_its_own_branch_is_refused(
    gh: FakeGitHub, github: GitHubClient
) -> None:
    with pytest.raises(GitHubError, match="into itself"):
        await github.create_draft_pr("amas/x", "amas/x", "t", "b")
    assert gh.writes() == []


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../x", "docs/../../x", "a//b", "./a"])
async def test_put_file_refuses_a_path_that_is_not_plainly_relative(
    gh: FakeGitHub, github: GitHubClient, path: str
) -> None:
    with pytest.raises(InvalidParameter):
        await github.put_file("amas/issue-1", path, b"x", "m")
    assert gh.writes() == []


NO_TOKEN_WRITES: dict[str, Write] = {
    "comment": lambda c: c.comment(1, "hi"),
    "branch": lambda c: c.create_branch("amas/x", "0" * 40),
    "file": lambda c: c.put_file("amas/x", "a.txt", b"x", "m"),
    "pull request": lambda c: c.create_draft_pr("amas/x", "main", "t", "b"),
}


@pytest.mark.parametrize("write", NO_TOKEN_WRITES.values(), ids=NO_TOKEN_WRITES)
async def test_without_a_token_writes_are_refused_before_any_request(
    gh: FakeGitHub, http: httpx.AsyncClient, write: Write
) -> None:
    client = GitHubClient(http, gh.repo, None, api_url=gh.base_url)
    with pytest.raises(GitHubError, match="no GitHub token"):
        await write(client)
    assert gh.requests == []


async def test_reads_without_a_token_send_no_authorization(
    gh: FakeGitHub, http: httpx.AsyncClient
) -> None:
    gh.add_issue("public")
    client = GitHubClient(http, gh.repo, None, api_url=gh.base_url)
    assert (await client.get_issue(1)).title == "public"
    assert "authorization" not in gh.requests[0].headers


async def test_the_token_is_in_no_message_or_repr(gh: FakeGitHub, http: httpx.AsyncClient) -> None:
    secret = "ghp_wrongwrongwrong0123456789"
    client = GitHubClient(http, gh.repo, secret, api_url=gh.base_url)
    with pytest.raises(GitHubError) as bad:
        await client.get_issue(1)
    assert (bad.value.status, bad.value.message) == (
        401,
        "GitHub 401 on GET /repos/owner/repo/issues/1: Bad credentials",
    )
    ok = GitHubClient(http, gh.repo, gh.token, api_url=gh.base_url)
    gh.script(error(422, f"token {gh.token} is not allowed here"))
    with pytest.raises(GitHubError) as echoed:
        await ok.comment(1, "hi")
    assert "***" in echoed.value.message
    texts = [str(bad.value), repr(bad.value), repr(client), str(echoed.value), repr(ok)]
    assert not any(secret in text or gh.token in text for text in texts)


async def test_a_transport_failure_is_a_github_error(http: httpx.AsyncClient) -> None:
    with FakeGitHub() as closed:
        url = closed.base_url
    client = GitHubClient(http, "owner/repo", TOKEN, api_url=url)
    with pytest.raises(GitHubError) as caught:
        await client.get_issue(1)
    assert caught.value.status is None
    assert TOKEN not in str(caught.value)


async def test_a_next_link_to_another_origin_is_not_followed(
    gh: FakeGitHub, github: GitHubClient
) -> None:
    gh.script(Answer(200, [], {"link": '<http://127.0.0.2:9/repos/owner/repo/issues>; rel="next"'}))
    with pytest.raises(GitHubError, match="refusing to send the token"):
        await github.list_issues()


@pytest.mark.parametrize("status", [403, 429])
async def test_a_secondary_rate_limit_gives_retry_after_and_holds_later_requests(
    gh: FakeGitHub, github: GitHubClient, status: int
) -> None:
    gh.add_issue("x")
    gh.script(secondary_limit(retry_after=7, status=status))
    with pytest.raises(GitHubError, match="secondary rate limit") as first:
        await github.get_issue(1)
    assert (first.value.status, first.value.retry_after) == (status, 7.0)
    with pytest.raises(GitHubError, match="not sent") as held:
        await github.comment(1, "hi")
    assert held.value.retry_after is not None and 0 < held.value.retry_after <= 7
    assert len(gh.requests) == 1


async def test_a_secondary_rate_limit_without_retry_after_means_a_minute(
    gh: FakeGitHub, github: GitHubClient
) -> None:
    gh.script(secondary_limit(retry_after=None))
    with pytest.raises(GitHubError) as caught:
        await github.default_branch()
    assert caught.value.retry_after == 60.0


async def test_a_primary_rate_limit_waits_until_its_reset(
    gh: FakeGitHub, github: GitHubClient
) -> None:
    gh.script(primary_limit(reset_in=30))
    with pytest.raises(GitHubError, match="API rate limit exceeded") as caught:
        await github.default_branch()
    assert caught.value.retry_after is not None and 28 <= caught.value.retry_after <= 31


async def test_an_answer_with_nothing_remaining_holds_the_next_request(
    gh: FakeGitHub, github: GitHubClient
) -> None:
    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(2e9))}
    gh.script(Answer(200, {"default_branch": "main"}, reset))
    assert await github.default_branch() == "main"
    with pytest.raises(GitHubError, match="not sent") as caught:
        await github.branch_sha("main")
    assert caught.value.retry_after is not None and caught.value.retry_after > 0
    assert len(gh.requests) == 1


class FakeTime:
    """A clock that moves only when the throttle sleeps: waits are exact, and instant."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_writes_beyond_the_limit_wait_for_the_minute_to_free(
    gh: FakeGitHub, http: httpx.AsyncClient
) -> None:
    time = FakeTime()
    sent: list[float] = []
    throttle = WriteThrottle(2, clock=time.clock, sleep=time.sleep)
    client = GitHubClient(http, gh.repo, gh.token, api_url=gh.base_url, throttle=throttle)
    gh.add_issue("x")
    for n in range(5):
        await client.comment(1, f"comment {n}")
        sent.append(time.now)
    await client.get_issue(1)  # reads are not throttled
    assert sent == [0.0, 0.0, 60.0, 60.0, 120.0]
    assert time.sleeps == [60.0, 60.0]
    assert len(gh.comments[1]) == 5


async def test_a_throttled_write_is_not_sent_while_it_waits(
    gh: FakeGitHub, http: httpx.AsyncClient
) -> None:
    release = asyncio.Event()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await release.wait()
        now[0] += seconds

    now = [100.0]
    throttle = WriteThrottle(2, clock=lambda: now[0], sleep=sleep)
    client = GitHubClient(http, gh.repo, gh.token, api_url=gh.base_url, throttle=throttle)
    gh.add_issue("x")
    writes = [asyncio.create_task(client.comment(1, f"c{n}")) for n in range(3)]
    for _ in range(200):
        if waits and gh.count("POST") == 2:
            break
        await asyncio.sleep(0.01)
    assert (waits, gh.count("POST")) == ([60.0], 2)
    release.set()
    await asyncio.gather(*writes)
    assert gh.count("POST") == 3


async def test_the_repo_must_be_owner_slash_name(http: httpx.AsyncClient) -> None:
    for repo in ("owner", "owner/", "/repo", "a/b/c"):
        with pytest.raises(InvalidParameter):
            GitHubClient(http, repo, None)
