"""Fixes applied safely: each in a git worktree of its own, on a new branch under amas/,
kept only by committing there.

Nothing here changes a repository's checked-out branch, its working tree or its index.
`worktree` adds a linked worktree in a fresh folder, on a new branch (never main, master,
the checked-out branch or one that exists), and removes the worktree on exit; the branch
stays with whatever was committed on it, for a human to review and merge (as the Copilot
agent pushes only to copilot/ branches). apply_patch, autofix and commit write, so they
refuse any folder that is not such a worktree.

git runs without a shell, with a timeout, in an environment of its own: none of the
caller's GIT_* variables (a GIT_DIR or GIT_INDEX_FILE inherited from a hook would point
git at another repository), an identity for commits (no user config needed), no prompts,
no optional index locks; and the repository's hooks, fsmonitor and commit signing are
off, so that a repository's configuration does not run programs of its choosing.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath

from actors.agents.scope import CodeScope
from actors.errors import ActorsError, InvalidParameter
from actors.workflows import lint
from actors.workflows.lint import FIXABLE

__all__ = [
    "AUTHOR",
    "FIXABLE",
    "PREFIX",
    "GitError",
    "apply_patch",
    "autofix",
    "changed_files",
    "commit",
    "diff",
    "file_in",
    "head_of",
    "require_git",
    "restore",
    "worktree",
]

PREFIX = "amas/"
"""Every branch AMAS makes is under it, so none can be a person's branch."""

AUTHOR = "AMAS <amas@localhost>"
TIMEOUT = 60.0
"""Seconds for one git command: the slowest here hash a working tree's changed files."""

_PROTECTED = frozenset({"main", "master"})
_BRANCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
_IDENTITY = re.compile(r"\s*([^<>]*[^<>\s])\s*<([^<>\s]+)>\s*")
_CONFIG = (
    ("core.hooksPath", "/dev/null"),
    ("core.fsmonitor", "false"),
    ("commit.gpgSign", "false"),
    ("color.ui", "never"),
)
_DIFF = ("--no-color", "--no-ext-diff", "--no-textconv", "--binary")


class GitError(ActorsError, RuntimeError):
    """git failed, timed out, is missing, or was not run because the operation is refused
    (a protected or existing branch, a folder that is not an AMAS worktree)."""

    def __init__(
        self,
        message: str,
        *,
        command: tuple[str, ...] = (),
        stderr: str = "",
        returncode: int | None = None,
    ) -> None:
        super().__init__(message)
        self.command = command
        self.stderr = stderr
        self.returncode = returncode


def require_git() -> str:
    """The git binary's path, or GitError saying how to get it."""
    found = shutil.which("git")
    if found is None:
        raise GitError(
            "git is needed to apply fixes in worktrees of their own (on amas/ branches) "
            "and was not found on PATH: install it (apt-get install git)"
        )
    return found


async def head_of(repo: Path) -> tuple[str, str]:
    """(the checked-out branch, or "HEAD" when detached; the commit's sha)."""
    sha, ref = (await _git(repo, "rev-parse", "HEAD", "--symbolic-full-name", "HEAD")).lines()
    return ref.removeprefix("refs/heads/"), sha


@asynccontextmanager
async def worktree(
    repo: Path,
    branch: str,
    base: str = "HEAD",
    parent: Path | None = None,
    *,
    scope: CodeScope | None = None,
) -> AsyncIterator[Path]:
    """A worktree of `repo` (its top folder) on the new `branch`, made from `base`, in a
    fresh folder under `parent` (default: the system's temporary folder). On exit the
    worktree and its folder are removed; the branch stays, with any commits made on it."""
    _check_branch_name(branch)
    _check_revision("base", base)
    top = await _top_folder(repo, scope)
    current, _ = await head_of(top)
    if branch.lower() == current.lower():
        raise GitError(f"refused: {branch!r} is the branch checked out in {top}")
    exists = await _git(top, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
    if exists.returncode == 0:
        raise GitError(f"refused: branch {branch!r} exists already in {top}")
    start = await _git(top, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}", check=False)
    if start.returncode != 0:
        raise GitError(f"{base!r} is not a commit in {top}")
    folder = Path(tempfile.mkdtemp(prefix="amas-worktree-", dir=parent))
    tree = folder / branch.replace("/", "-")
    try:
        await _git(top, "worktree", "add", "--quiet", "-b", branch, str(tree), start.stdout.strip())
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        yield tree
    finally:
        await _git(top, "worktree", "remove", "--force", str(tree), check=False)
        shutil.rmtree(folder, ignore_errors=True)
        await _git(top, "worktree", "prune")


async def apply_patch(tree: Path, diff: str) -> bool:
    """Apply a unified diff (as `git diff` writes it) to the worktree; False, with nothing
    changed, if it does not apply. git refuses paths outside the worktree or behind a
    symlink; hunk line counts are recounted, as hand-written diffs often miscount."""
    root = await _check_ours(tree)
    patch = diff.encode()
    options = ("--recount", "--whitespace=nowarn", "-")
    if (await _git(root, "apply", "--check", *options, stdin=patch, check=False)).returncode:
        return False
    await _git(root, "apply", *options, stdin=patch)
    return True


async def autofix(tree: Path, file: str, rule: str) -> bool:
    """ruff's own safe fix for `rule` (one of FIXABLE) in `file` (relative to the
    worktree); whether the file changed."""
    if rule not in FIXABLE:
        raise InvalidParameter("rule", f"{rule!r} is not one autofix fixes (see FIXABLE)")
    root = await _check_ours(tree)
    path = file_in(root, file)
    before = _contents(path, file)
    await lint.fix(root, path, rule)
    return _contents(path, file) != before


async def restore(tree: Path, file: str) -> None:
    """Undo every change to `file` in the worktree since its last commit (a fix that did
    not clear its finding); a file the worktree added is removed."""
    root = await _check_ours(tree)
    path = file_in(root, file)
    tracked = await _git(root, "ls-files", "--error-unmatch", "--", file, check=False)
    if tracked.returncode == 0:
        await _git(root, "checkout", "--", file)
    else:
        path.unlink(missing_ok=True)


async def commit(tree: Path, message: str, author: str = AUTHOR) -> str | None:
    """Commit every change in the worktree (new files too) as `author` ("Name <email>",
    also the committer); its sha, or None when nothing changed."""
    identity = _identity(author)
    root = await _check_ours(tree)
    await _git(root, "add", "--all")
    if (await _git(root, "diff", "--cached", "--quiet", check=False)).returncode == 0:
        return None
    await _git(root, "commit", "--quiet", "--no-verify", "-m", message, env=identity)
    return (await _git(root, "rev-parse", "HEAD")).stdout.strip()


async def changed_files(tree: Path, base: str = "HEAD") -> list[str]:
    """The files (relative to the worktree, with '/') that differ from `base`: changed,
    added (untracked ones too) or deleted."""
    names = await _against(tree, base, "--name-only", "--no-renames", "-z")
    return sorted(name for name in names.split("\0") if name)


async def diff(tree: Path, base: str = "HEAD") -> str:
    """The unified diff of the worktree (untracked files too) against `base`: what a fix
    proposes, in the form apply_patch takes."""
    return await _against(tree, base, *_DIFF, "--src-prefix=a/", "--dst-prefix=b/")


def file_in(tree: Path, file: str) -> Path:
    """`file` (relative) inside `tree`, symlinks resolved; InvalidParameter if it is not."""
    path = (tree / file).resolve()
    if not path.is_relative_to(tree.resolve()) or path == tree.resolve():
        raise InvalidParameter("file", f"{file!r} is not a file inside {tree}")
    return path


def _contents(path: Path, file: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise InvalidParameter("file", f"cannot read {file!r}: {e.strerror or e}") from None


async def _against(tree: Path, base: str, *options: str) -> str:
    """`git diff --cached <options> <base>` over an index of the whole working tree, built
    in a scratch copy of the worktree's index, so that its own index stays as it was."""
    _check_revision("base", base)
    top, index = (await _git(tree, "rev-parse", "--show-toplevel", "--git-path", "index")).lines()
    root = Path(top)
    with tempfile.TemporaryDirectory(prefix="amas-index-") as scratch:
        copy = Path(scratch) / "index"
        if (root / index).is_file():
            shutil.copyfile(root / index, copy)
        scratch_index = {"GIT_INDEX_FILE": str(copy)}
        await _git(root, "add", "--all", env=scratch_index)
        done = await _git(root, "diff", "--cached", *options, base, "--", env=scratch_index)
    return done.stdout


async def _top_folder(repo: Path, scope: CodeScope | None) -> Path:
    if scope is not None:
        scope.resolve("repo", str(repo))
    up, top = (await _git(repo, "rev-parse", "--show-cdup", "--show-toplevel")).lines()
    if up:
        raise GitError(f"{repo} is not the top folder of a git repository (that is {top})")
    return Path(top)


async def _check_ours(tree: Path) -> Path:
    """The worktree's top folder, if `tree` is the top of a linked worktree on an amas/
    branch."""
    up, top, git_dir, common, head = (
        await _git(
            tree,
            "rev-parse",
            "--show-cdup",
            "--show-toplevel",
            "--git-dir",
            "--git-common-dir",
            "--symbolic-full-name",
            "HEAD",
        )
    ).lines()
    # A linked worktree's git folder is <the repository's>/worktrees/<name>; a main
    # worktree's (or a submodule's) is the common one.
    linked = git_dir != common and PurePath(git_dir).parent.name == "worktrees"
    if up or not linked or not head.startswith(f"refs/heads/{PREFIX}"):
        raise GitError(
            f"refused: {tree} is not the top of a worktree on an {PREFIX} branch, "
            "and AMAS changes files only there"
        )
    return Path(top)


def _check_branch_name(branch: str) -> None:
    """Refuses, before git runs, a name that is not AMAS's to make."""
    name = branch.lower()
    if name in _PROTECTED or name.removeprefix(PREFIX) in _PROTECTED:
        raise GitError(f"refused: AMAS never makes or changes a branch named {branch!r}")
    if not branch.startswith(PREFIX):
        raise GitError(f"refused: {branch!r} is not under {PREFIX}, where AMAS makes branches")
    if (
        len(branch) > 200
        or not _BRANCH.fullmatch(branch)
        or ".." in branch
        or branch.endswith((".", ".lock"))
        or "/." in branch
    ):
        raise GitError(
            f"refused: {branch!r} is not a branch name AMAS makes "
            "(letters, digits, '.', '_', '-', and '/' between parts)"
        )


def _check_revision(parameter: str, revision: str) -> None:
    if not revision or revision.startswith("-") or any(c.isspace() or c == "\0" for c in revision):
        raise InvalidParameter(parameter, f"{revision!r} is not a git revision")


def _identity(author: str) -> dict[str, str]:
    match = _IDENTITY.fullmatch(author)
    if match is None:
        raise InvalidParameter("author", f"{author!r} is not 'Name <email>'")
    name, email = match.groups()
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


@dataclass(frozen=True)
class _Finished:
    returncode: int
    stdout: str

    def lines(self) -> list[str]:
        """The output's lines, an empty one kept where git printed one."""
        return self.stdout.removesuffix("\n").split("\n")


async def _git(
    cwd: Path,
    *args: str,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> _Finished:
    """`git <args>` in `cwd`; a non-zero exit is a GitError carrying what git said
    (unless `check` is off)."""
    config = (part for key, value in _CONFIG for part in ("-c", f"{key}={value}"))
    command = (require_git(), *config, *args)
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,
            env=_environment(env),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as e:  # most often: `cwd` is not there
        raise GitError(f"cannot run git in {cwd}: {e.strerror or e}", command=command) from None
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), TIMEOUT)
    except TimeoutError:
        raise GitError(
            f"git {args[0]} in {cwd} took longer than {TIMEOUT:g} s", command=command
        ) from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    returncode = await process.wait()
    said = err.decode(errors="replace").strip()
    if check and returncode != 0:
        raise GitError(
            f"git {args[0]} in {cwd}: {said or f'exit code {returncode}'}",
            command=command,
            stderr=said,
            returncode=returncode,
        )
    return _Finished(returncode, os.fsdecode(out))


def _environment(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        LC_ALL="C",
        **_identity(AUTHOR),
    )
    env.update(extra or {})
    return env
