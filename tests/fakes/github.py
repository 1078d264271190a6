"""A fake GitHub REST API for one repository, on 127.0.0.1, for the issue responder's
tests and benchmarks: real HTTP/1.1 with keep-alive on a thread, state in memory.

It serves what actors/workflows/issue_responder/github.py asks: the repository, issues
(which, as on GitHub, list pull requests too, paged with a `Link` header), comments, git
refs, file contents per branch, and pull requests (recording `draft`). It answers as
GitHub does: `x-ratelimit-*` headers on every answer, 401 `Bad credentials` for a wrong
token, 401 `Requires authentication` for a write without one, 404/409/422 with GitHub's
error bodies. It **refuses every write to the default branch** with 422 (a ref created,
updated or deleted there, a contents PUT to it, a pull request from it), so a test can
prove nothing was pushed there, and it records every request.

    with FakeGitHub() as gh:
        gh.add_issue("Crash on start", body="...", labels=["bug"])
        gh.add_issue("Bump deps", pull_request=True)
        gh.script(secondary_limit(retry_after=2))   # the next request's answer
        client = GitHubClient(http, gh.repo, gh.token, api_url=gh.base_url)
        ...
        assert gh.writes() == [] and gh.contents["main"] == {...}

`python -m tests.fakes.github --port 0` serves a few sample issues until killed and
prints its base URL on one line.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

import msgspec

TOKEN = "ghp_fake0123456789abcdefFAKEfake0123456"
"""The token a fake accepts unless it is given another."""
DOCS = "https://docs.github.com/rest"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
_VERSIONS = frozenset({"2022-11-28", "2026-03-10"})


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Names in lower case."""
    body: Any
    """The parsed JSON body; None when there is none or it is not JSON."""
    at: float
    """time.monotonic() on arrival."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


def error(status: int, message: str, headers: Mapping[str, str] = {}, **extra: Any) -> Answer:
    """GitHub's error body: message, documentation_url, status (as a string)."""
    body = {"message": message, "documentation_url": DOCS, "status": str(status), **extra}
    return Answer(status, body, headers)


def secondary_limit(retry_after: int | None = 60, status: int = 403) -> Answer:
    """A secondary rate limit (403 or 429); GitHub sometimes sends no `retry-after`."""
    headers = {} if retry_after is None else {"retry-after": str(retry_after)}
    return error(status, SECONDARY_MESSAGE, headers)


def primary_limit(reset_in: int = 60, status: int = 403) -> Answer:
    """The hourly limit used up: remaining 0 and the reset as a Unix time."""
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + reset_in)}
    return error(status, "API rate limit exceeded for user ID 1.", headers)


def blob_sha(content: bytes) -> str:
    """Git's object id of a blob, as GitHub reports a file's `sha`."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up is no news here


class FakeGitHub:
    """State (read it, or seed it, in a test): `issues` by number (pull requests among
    them, with a `pull_request` key), `comments` by issue, `refs` (branch -> commit sha),
    `trees` (commit sha -> path -> bytes) and `contents` (branch -> path -> bytes, from
    those two), `pulls`, `requests`."""

    page_size = 30
    """The most issues one page holds, whatever per_page asks (lower it to test paging)."""

    def __init__(
        self,
        token: str = TOKEN,
        *,
        repo: str = "owner/repo",
        default_branch: str = "main",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.repo = repo
        self.default_branch = default_branch
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.pulls: list[dict[str, Any]] = []
        self._shas = (hashlib.sha1(b"commit %d" % n).hexdigest() for n in itertools.count())
        first = next(self._shas)
        self.trees: dict[str, dict[str, bytes]] = {first: {"README.md": b"# repo\n"}}
        """The files of each commit, by its sha."""
        self.refs: dict[str, str] = {default_branch: first}
        self.requests: list[Request] = []
        self.remaining = 5000
        self._script: list[Answer] = []
        self._ids = itertools.count(1)
        self._lock = threading.RLock()  # a pull request adds an issue while routing
        self.server = _Server((host, port), self._handler())
        self.host = host
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def contents(self) -> dict[str, dict[str, bytes]]:
        """The files on each branch (branch -> path -> bytes)."""
        return {branch: self.trees[sha] for branch, sha in self.refs.items()}

    @property
    def base_url(self) -> str:
        """What GitHubClient takes as `api_url`."""
        return f"http://{self.host}:{self.port}"

    def add_issue(
        self,
        title: str,
        body: str | None = "",
        *,
        labels: Iterable[str] = (),
        state: str = "open",
        author: str = "octocat",
        pull_request: bool = False,
    ) -> dict[str, Any]:
        """A new issue (or pull request) with the next number, as GitHub shows it."""
        with self._lock:
            number = max(self.issues, default=0) + 1
            kind = "pull" if pull_request else "issues"
            self.issues[number] = issue = {
                "id": 1000 + number,
                "number": number,
                "title": title,
                "body": body,
                "labels": [{"id": 1, "name": name, "color": "ededed"} for name in labels],
                "state": state,
                "user": {"login": author, "type": "User"},
                "html_url": f"{self.base_url}/{self.repo}/{kind}/{number}",
                "comments": 0,
                "created_at": f"2026-11-{number % 28 + 1:02d}T10:00:00Z",
            }
            if pull_request:
                issue["pull_request"] = {"url": f"{self.base_url}/repos/{self.repo}/pulls/{number}"}
            return issue

    def script(self, *answers: Answer) -> None:
        """Answer the next requests (that pass the token check) with these, in order."""
        with self._lock:
            self._script.extend(answers)

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]

    def count(self, method: str, path_part: str = "") -> int:
        return sum(r.method == method and path_part in r.path for r in self.requests)

    # The API (called with the lock held).
    def _route(self, request: Request) -> Answer:
        method, rest = request.method, request.path.removeprefix(f"/repos/{self.repo}")
        if rest == request.path:
            return error(404, "Not Found")
        body = request.body if isinstance(request.body, dict) else {}
        if method == "GET" and rest == "":
            return Answer(200, {"full_name": self.repo, "default_branch": self.default_branch})
        if method == "GET" and rest == "/issues":
            return self._list_issues(request)
        if m := re.fullmatch(r"/issues/(\d+)", rest):
            issue = self.issues.get(int(m[1]))
            return Answer(200, issue) if method == "GET" and issue else error(404, "Not Found")
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            return self._comment(method, int(m[1]), body)
        if method == "GET" and (m := re.fullmatch(r"/git/ref/heads/(.+)", rest)):
            return self._ref(unquote(m[1]))
        if method == "POST" and rest == "/git/refs":
            return self._create_ref(str(body.get("ref", "")), str(body.get("sha", "")))
        if method in ("PATCH", "DELETE") and (m := re.fullmatch(r"/git/refs/heads/(.+)", rest)):
            return self._change_ref(method, unquote(m[1]), str(body.get("sha", "")))
        if m := re.fullmatch(r"/contents/(.+)", rest):
            path = unquote(m[1])
            if method == "GET":
                return self._file(path, request.query.get("ref", self.default_branch))
            if method == "PUT":
                return self._put_file(path, body)
        if method == "POST" and rest == "/pulls":
            return self._create_pull(body)
        return error(404, "Not Found")

    def _list_issues(self, request: Request) -> Answer:
        state = request.query.get("state", "open")
        wanted = {name for name in request.query.get("labels", "").split(",") if name}
        found = [
            issue
            for _, issue in sorted(self.issues.items(), reverse=True)
            if state in ("all", issue["state"])
            and wanted <= {label["name"] for label in issue["labels"]}
        ]
        size = min(int(request.query.get("per_page", 30)), self.page_size, 100)
        page = int(request.query.get("page", 1))
        headers = {}
        if page * size < len(found):
            query = urlencode({**request.query, "page": page + 1})
            headers["link"] = f'<{self.base_url}{request.path}?{query}>; rel="next"'
        return Answer(200, found[(page - 1) * size : page * size], headers)

    def _comment(self, method: str, number: int, body: dict[str, Any]) -> Answer:
        if number not in self.issues:
            return error(404, "Not Found")
        if method == "GET":
            return Answer(200, self.comments.get(number, []))
        if method != "POST":
            return error(404, "Not Found")
        if not body.get("body"):
            return error(422, 'Invalid request.\n\n"body" wasn\'t supplied.')
        comment_id = next(self._ids)
        url = f"{self.issues[number]['html_url']}#issuecomment-{comment_id}"
        comment = {"id": comment_id, "body": body["body"], "html_url": url}
        self.comments.setdefault(number, []).append(comment)
        self.issues[number]["comments"] += 1
        return Answer(201, comment)

    def _ref_json(self, branch: str) -> dict[str, Any]:
        sha = self.refs[branch]
        return {"ref": f"refs/heads/{branch}", "object": {"sha": sha, "type": "commit"}}

    def _ref(self, branch: str) -> Answer:
        return (
            Answer(200, self._ref_json(branch)) if branch in self.refs else error(404, "Not Found")
        )

    def _default_refused(self, what: str) -> Answer:
        return error(422, f"{what} the default branch {self.default_branch!r} is refused here")

    def _create_ref(self, ref: str, sha: str) -> Answer:
        branch = ref.removeprefix("refs/heads/")
        if branch == self.default_branch:
            return self._default_refused("Creating")
        if not ref.startswith("refs/heads/") or not branch:
            return error(422, f"Reference name {ref!r} is not valid")
        if branch in self.refs:
            return error(422, "Reference already exists")
        if sha not in self.trees:
            return error(422, "Object does not exist")
        self.refs[branch] = sha
        return Answer(201, self._ref_json(branch))

    def _change_ref(self, method: str, branch: str, sha: str) -> Answer:
        if branch == self.default_branch:
            return self._default_refused("Updating" if method == "PATCH" else "Deleting")
        if branch not in self.refs:
            return error(422, "Reference does not exist")
        if method == "DELETE":
            del self.refs[branch]
            return Answer(204)
        if sha not in self.trees:
            return error(422, "Object does not exist")
        self.refs[branch] = sha
        return Answer(200, self._ref_json(branch))

    def _file(self, path: str, branch: str) -> Answer:
        content = self.contents.get(branch, {}).get(path)
        if content is None:
            return error(404, "Not Found")
        return Answer(
            200,
            {
                "type": "file",
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "sha": blob_sha(content),
                "size": len(content),
                "encoding": "base64",
                "content": base64.b64encode(content).decode(),
            },
        )

    def _put_file(self, path: str, body: dict[str, Any]) -> Answer:
        branch = body.get("branch") or self.default_branch  # GitHub's default when unnamed
        if branch == self.default_branch:
            return self._default_refused("Committing to")
        if branch not in self.refs:
            return error(404, f"Branch {branch} not found")
        if not body.get("message") or not isinstance(body.get("content"), str):
            return error(422, "Invalid request.\n\nmessage and content are required.")
        old = self.contents[branch].get(path)
        if old is not None and "sha" not in body:
            return error(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if old is not None and body["sha"] != blob_sha(old):
            return error(409, f"{path} does not match {body['sha']}")
        content = base64.b64decode(body["content"])
        sha = next(self._shas)
        self.trees[sha] = {**self.trees[self.refs[branch]], path: content}
        self.refs[branch] = sha
        commit = {"sha": sha, "message": body["message"]}
        answer = {"content": {"path": path, "sha": blob_sha(content)}, "commit": commit}
        return Answer(200 if old is not None else 201, answer)

    def _create_pull(self, body: dict[str, Any]) -> Answer:
        head, base = str(body.get("head", "")), str(body.get("base", ""))
        if head == self.default_branch:
            return self._default_refused("A pull request from")
        invalid = [
            name for name, branch in (("head", head), ("base", base)) if branch not in self.refs
        ]
        if invalid or not body.get("title"):
            fields = invalid or ["title"]
            errors = [{"resource": "PullRequest", "field": f, "code": "invalid"} for f in fields]
            return error(422, "Validation Failed", errors=errors)
        if any(p["head"]["ref"] == head and p["state"] == "open" for p in self.pulls):
            message = f"A pull request already exists for {self.repo.split('/')[0]}:{head}."
            return error(422, "Validation Failed", errors=[{"message": message}])
        issue = self.add_issue(body["title"], body.get("body"), author="amas", pull_request=True)
        pull = {
            **issue,
            "draft": bool(body.get("draft", False)),
            "head": {"ref": head, "sha": self.refs[head]},
            "base": {"ref": base, "sha": self.refs[base]},
        }
        self.pulls.append(pull)
        return Answer(201, pull)

    def _answer(self, request: Request) -> Answer:
        auth = request.headers.get("authorization")
        version = request.headers.get("x-github-api-version")
        with self._lock:
            self.requests.append(request)
            if auth is not None and auth not in (f"Bearer {self.token}", f"token {self.token}"):
                return error(401, "Bad credentials")
            if version is not None and version not in _VERSIONS:
                return error(400, f"Unsupported 'X-GitHub-Api-Version' of {version!r}.")
            if auth is None and request.method != "GET":
                return error(401, "Requires authentication")
            self.remaining = max(0, self.remaining - 1)
            if self._script:
                return self._script.pop(0)
            return self._route(request)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(size) if size else b""
                try:
                    body = msgspec.json.decode(raw) if raw else None
                except msgspec.DecodeError:
                    body = None
                path, _, query = self.path.partition("?")
                headers = {name.lower(): value for name, value in self.headers.items()}
                request = Request(
                    self.command, path, dict(parse_qsl(query)), headers, body, time.monotonic()
                )
                answer = fake._answer(request)
                data = b"" if answer.body is None else msgspec.json.encode(answer.body)
                self.send_response(answer.status)
                rate = {
                    "x-ratelimit-limit": "5000",
                    "x-ratelimit-remaining": str(fake.remaining),
                    "x-ratelimit-reset": str(int(time.time()) + 3600),
                    "x-ratelimit-used": str(5000 - fake.remaining),
                    "x-ratelimit-resource": "core",
                }
                for name, value in {**rate, **answer.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


def main() -> None:  # pragma: no cover - a fake to try the client against by hand
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=TOKEN)
    args = parser.parse_args()
    with FakeGitHub(args.token, port=args.port) as fake:
        fake.add_issue("Crash when saving twice", "Steps: click save twice.", labels=["bug"])
        fake.add_issue("Fallo al iniciar sesión", "No puedo iniciar sesión.", labels=["bug"])
        fake.add_issue("Bump httpx", "", pull_request=True)
        print(fake.base_url, flush=True)
        fake._thread.join()


if __name__ == "__main__":
    main()
