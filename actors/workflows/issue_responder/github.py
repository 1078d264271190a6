"""GitHub's REST API, as far as the issue responder needs it: read issues, comment on
one, and propose a fix on a branch of its own as a draft pull request.

Safety rails (design.md; the Copilot coding agent's rules in the anchors):

* nothing is written to the default branch: a branch, a file or a pull request whose
  head is the default branch is refused here, before any write is sent, whatever
  GitHub's branch protection would say (the default branch is asked once and cached);
* writes (POST/PUT/PATCH/DELETE) keep to GitHub's guidance of at most 80
  content-creating requests a minute: one that would exceed `writes_per_minute` waits;
* after a rate-limit answer (primary or secondary) nothing more is sent until the wait
  it named has passed: GitHub may ban an integration that keeps asking;
* without a token every write is refused before a request; the token is sent only to
  `api_url`'s origin and appears in no message, repr or log.

Every failure is a GitHubError: an error answer (GitHub's `message`, the status, and
`retry_after` for a rate limit), a transport failure or a refusal made here (status None).
Issue text comes back as written: `sanitize.clean` it before it reaches a prompt.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import httpx
import msgspec

from actors.errors import ActorsError, InvalidParameter

__all__ = ["GitHubClient", "GitHubError", "Issue", "IssueSource", "WriteThrottle"]

API_VERSION = "2022-11-28"
USER_AGENT = "amas-issue-responder"
PER_PAGE_MAX = 100
SECONDARY_WAIT = 60.0
"""GitHub: after a secondary rate limit without `retry-after`, wait at least a minute."""
WINDOW = 60.0
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STATES = frozenset({"open", "closed", "all"})

T = TypeVar("T")


class Issue(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    title: str
    body: str
    labels: list[str] = []
    state: str = "open"
    author: str | None = None
    url: str | None = None
    comments: int = 0
    created_at: str | None = None


class IssueSource(Protocol):
    """Where issues come from: GitHubClient, or local.LocalIssues for a folder."""

    async def list_issues(
        self, state: str = "open", limit: int = 30, labels: list[str] | None = None
    ) -> list[Issue]: ...

    async def get_issue(self, number: int) -> Issue: ...


class GitHubError(ActorsError):
    """A GitHub call failed or was refused. `message` never contains the token."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        """GitHub's HTTP status; None for a transport failure or a refusal made here."""
        self.retry_after = retry_after
        """Seconds to wait before asking again (rate limits only)."""

    def __repr__(self) -> str:
        return f"GitHubError({self.message!r}, status={self.status!r})"


class WriteThrottle:
    """At most `per_minute` writes in any 60 seconds; a write that would exceed it waits
    for the oldest to leave the minute. Share one between the clients of one token:
    GitHub counts the limit per user, not per repository. Clock and sleep passed in."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_minute < 1:
            raise InvalidParameter("writes_per_minute", "must be at least 1")
        self.per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._sent: collections.deque[float] = collections.deque()
        self._lock = asyncio.Lock()  # first come, first sent

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                while self._sent and self._sent[0] <= now - WINDOW:
                    self._sent.popleft()
                if len(self._sent) < self.per_minute:
                    self._sent.append(now)
                    return
                await self._sleep(self._sent[0] + WINDOW - now)


# GitHub's answers, as far as we read them.
class _User(msgspec.Struct):
    login: str


class _Label(msgspec.Struct):
    name: str


class _Issue(msgspec.Struct):
    number: int
    title: str
    body: str | None = None
    labels: list[_Label] = []
    state: str = "open"
    user: _User | None = None
    html_url: str | None = None
    comments: int = 0
    created_at: str | None = None
    pull_request: dict[str, Any] | None = None
    """Present on pull requests, which the issues endpoints list too."""

    def issue(self) -> Issue:
        return Issue(
            number=self.number,
            title=self.title,
            body=self.body or "",
            labels=[label.name for label in self.labels],
            state=self.state,
            author=self.user.login if self.user else None,
            url=self.html_url,
            comments=self.comments,
            created_at=self.created_at,
        )


class _Repo(msgspec.Struct):
    default_branch: str


class _Sha(msgspec.Struct):
    sha: str


class _Ref(msgspec.Struct):
    object: _Sha


class _Written(msgspec.Struct):
    commit: _Sha


class _HtmlUrl(msgspec.Struct):
    html_url: str


class _Pull(msgspec.Struct):
    number: int
    html_url: str


class _ErrorBody(msgspec.Struct):
    message: str = ""
    errors: list[Any] = []


def _branch_name(branch: str) -> str:
    return branch.removeprefix("refs/heads/")


def _check_path(path: str) -> str:
    parts = path.split("/")
    if not path or any(part in ("", ".", "..") for part in parts):
        raise InvalidParameter("path", f"{path!r} is not a relative file path")
    return quote(path, safe="/")


class GitHubClient:
    """One repository (`owner/name`) on the caller's httpx client. Clients of one token
    should share one `throttle` (its own per-minute limit then applies, not
    `writes_per_minute`)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        repo: str,
        token: str | None,
        api_url: str = "https://api.github.com",
        writes_per_minute: int = 80,
        *,
        throttle: WriteThrottle | None = None,
    ) -> None:
        owner, _, name = repo.partition("/")
        if not owner or not name or "/" in name:
            raise InvalidParameter("repo", f"{repo!r} is not owner/name")
        self.repo = repo
        self.api_url = api_url.rstrip("/")
        self._http = http
        self._token = token or None
        self._throttle = throttle or WriteThrottle(writes_per_minute)
        self._default: str | None = None
        self._held_until = 0.0
        """Wall-clock time before which a rate limit forbids asking (GitHub's resets are
        Unix times)."""

    def __repr__(self) -> str:
        return f"GitHubClient(repo={self.repo!r}, api_url={self.api_url!r})"

    # Reading.
    async def list_issues(
        self, state: str = "open", limit: int = 30, labels: list[str] | None = None
    ) -> list[Issue]:
        """Up to `limit` issues, newest first; pull requests are left out."""
        if state not in _STATES:
            raise InvalidParameter("state", f"{state!r} is not one of open, closed, all")
        query: dict[str, str | int] = {"state": state, "per_page": PER_PAGE_MAX}
        if labels:
            query["labels"] = ",".join(labels)
        params: dict[str, str | int] | None = query
        issues: list[Issue] = []
        url: str | None = self._url("/issues")
        while url is not None and len(issues) < limit:
            response = await self._call("GET", url, params=params)
            params = None  # the next link carries the query (httpx drops it for {})
            page = self._decode(response, list[_Issue])
            issues += [item.issue() for item in page if item.pull_request is None]
            url = response.links.get("next", {}).get("url")
        return issues[: max(limit, 0)]

    async def get_issue(self, number: int) -> Issue:
        item = self._decode(await self._call("GET", self._url(f"/issues/{number}")), _Issue)
        if item.pull_request is not None:
            raise GitHubError(f"{self.repo}#{number} is a pull request, not an issue")
        return item.issue()

    async def default_branch(self) -> str:
        if self._default is None:
            repo = self._decode(await self._call("GET", self._url("")), _Repo)
            self._default = repo.default_branch
        return self._default

    async def branch_sha(self, branch: str) -> str:
        url = self._url(f"/git/ref/heads/{quote(_branch_name(branch), safe='/')}")
        return self._decode(await self._call("GET", url), _Ref).object.sha

    # Writing: never to the default branch.
    async def comment(self, number: int, body: str) -> str:
        """Comments on issue `number`; returns the comment's html_url."""
        self._need_token()
        response = await self._call(
            "POST", self._url(f"/issues/{number}/comments"), json={"body": body}
        )
        return self._decode(response, _HtmlUrl).html_url

    async def create_branch(self, name: str, from_sha: str) -> None:
        name = await self._not_default(name)
        await self._call(
            "POST", self._url("/git/refs"), json={"ref": f"refs/heads/{name}", "sha": from_sha}
        )

    async def put_file(self, branch: str, path: str, content: bytes, message: str) -> str:
        """Creates or replaces `path` on `branch` in one commit; returns the commit's sha."""
        branch = await self._not_default(branch)
        url = self._url(f"/contents/{_check_path(path)}")
        payload = {
            "message": message,
            "content": base64.b64encode(content).decode("ascii"),
            "branch": branch,
        }
        try:
            existing = await self._call("GET", url, params={"ref": branch})
        except GitHubError as e:
            if e.status != 404:
                raise
        else:
            payload["sha"] = self._decode(existing, _Sha).sha
        return self._decode(await self._call("PUT", url, json=payload), _Written).commit.sha

    async def create_draft_pr(self, head: str, base: str, title: str, body: str) -> tuple[int, str]:
        """Opens a draft pull request of `head` into `base`; returns its number and html_url."""
        head, base = await self._not_default(head), _branch_name(base)
        if head == base:
            raise GitHubError(f"refusing a pull request of {head!r} into itself")
        payload = {"title": title, "head": head, "base": base, "body": body, "draft": True}
        pull = self._decode(await self._call("POST", self._url("/pulls"), json=payload), _Pull)
        return pull.number, pull.html_url

    # The wire.
    def _url(self, path: str) -> str:
        return f"{self.api_url}/repos/{self.repo}{path}"

    def _need_token(self) -> None:
        if self._token is None:
            raise GitHubError(f"no GitHub token: refusing to write to {self.repo}")

    async def _not_default(self, branch: str) -> str:
        self._need_token()
        name = _branch_name(branch)
        default = await self.default_branch()
        # Case-blind: refusing `Main` as well costs nothing and is safe on any server.
        if name.casefold() == default.casefold():
            raise GitHubError(f"refusing to write to {self.repo}'s default branch {default!r}")
        return name

    def _headers(self) -> dict[str, str]:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str | int] | None = None,
        json: dict[str, Any] | None = None,
    ) -> httpx.Response:
        where = urlsplit(url)
        if where[:2] != urlsplit(self.api_url)[:2]:  # a next link elsewhere: keep the token
            raise GitHubError(f"refusing to send the token to {where.scheme}://{where.netloc}")
        what = f"{method} {where.path}"
        self._check_hold(what)
        if method in _WRITES:
            await self._throttle.acquire()
            self._check_hold(what)  # a limit may have been hit while this write waited
        try:
            response = await self._http.request(
                method, url, params=params, json=json, headers=self._headers()
            )
        except httpx.HTTPError as e:
            raise GitHubError(self._scrub(f"{what}: {type(e).__name__}: {e}")) from e
        now = time.time()
        reset = _float(response.headers.get("x-ratelimit-reset"))
        exhausted = response.headers.get("x-ratelimit-remaining") == "0" and reset is not None
        if response.is_success:
            if exhausted and reset is not None:
                self._held_until = max(self._held_until, reset)
            return response
        error = self._error(what, response, now, reset if exhausted else None)
        if error.retry_after is not None:
            self._held_until = max(self._held_until, now + error.retry_after)
        raise error

    def _check_hold(self, what: str) -> None:
        if (wait := self._held_until - time.time()) > 0:
            raise GitHubError(f"{what}: rate limited, not sent", retry_after=wait)

    def _error(
        self, what: str, response: httpx.Response, now: float, reset: float | None
    ) -> GitHubError:
        try:
            body = msgspec.json.decode(response.content, type=_ErrorBody)
            details = [_detail(e) for e in body.errors]
            message = "; ".join([body.message, *details]) if details else body.message
        except msgspec.DecodeError:
            message = response.text[:200]
        status = response.status_code
        wait = None
        if status in (403, 429):
            wait = _float(response.headers.get("retry-after"))
            if wait is None and reset is not None:
                wait = max(0.0, reset - now)
            if wait is None and "secondary rate limit" in message.lower():
                wait = SECONDARY_WAIT
        text = " ".join(f"GitHub {status} on {what}: {message[:500]}".split())
        return GitHubError(self._scrub(text), status=status, retry_after=wait)

    def _decode(self, response: httpx.Response, kind: type[T]) -> T:
        try:
            return msgspec.json.decode(response.content, type=kind)
        except msgspec.DecodeError as e:
            where = f"{response.request.method} {response.request.url.path}"
            raise GitHubError(
                self._scrub(f"unreadable answer to {where}: {e}"), status=response.status_code
            ) from e


def _detail(error: Any) -> str:
    """One of a 422's `errors`: its message, else what is invalid ("PullRequest head invalid")."""
    if not isinstance(error, dict):
        return str(error)
    if error.get("message"):
        return str(error["message"])
    return " ".join(str(error[key]) for key in ("resource", "field", "code") if key in error)


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None
