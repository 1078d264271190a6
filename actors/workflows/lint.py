"""ruff over a folder, as findings shaped like code_analysis's (kind "lint"), and ruff's
own safe fixes for the rules in FIXABLE.

The orchestrator's code-quality step lists what `lint` finds; the self-improver fixes a
finding with `fix` (through gitops.autofix, in a worktree) and asks `reported` whether it
is gone (through verify.finding_gone). ruff runs as its own binary, the one its wheel
ships (`ruff.find_ruff_bin`), without a shell and with a timeout, and never writes its
cache (`--no-cache`): linting a folder leaves it as it was. The folder's own ruff
configuration applies (line length, per-file ignores, `unfixable`), as it would for
its authors; the rules checked are DEFAULT_SELECT unless told otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import msgspec
from ruff import find_ruff_bin

from actors.errors import ActorsError, InvalidParameter

Level = Literal["low", "medium", "high"]

DEFAULT_SELECT: tuple[str, ...] = (
    "E4",
    "E7",
    "E9",
    "F",
    "W",
    "B",
    "UP",
    "SIM",
    "I",
    "D100",
    "D104",
)
"""ruff's own defaults (E4, E7, E9, F), pycodestyle's warnings, bugbear, pyupgrade,
simplify, isort, and a public module or package without a docstring."""

FIXABLE: frozenset[str] = frozenset(
    {
        "F401",
        "F541",
        "F632",
        "E401",
        "E703",
        "E713",
        "E714",
        "W291",
        "W292",
        "W293",
        "W605",
        "I001",
        "B009",
        "B010",
        "B013",
        "B014",
        "UP004",
        "UP009",
        "UP010",
        "UP015",
        "UP018",
        "UP024",
        "UP025",
        "UP032",
        "UP034",
        "UP039",
        "SIM208",
    }
)
"""Rules whose fix ruff marks safe (the code means what it meant): autofix applies only
these, and only ruff's safe fixes. Rules whose fixes ruff calls unsafe (E711, E712,
SIM118, F841) are left out, and so is RUF100, which with one rule selected would strip
every other rule's `# noqa`. tests/actors/workflows/test_lint.py fixes a sample of each."""

LINT_TIMEOUT = 300.0
FILE_TIMEOUT = 60.0

_SEVERITY: tuple[tuple[str, Level], ...] = (
    ("invalid-syntax", "high"),
    ("E9", "high"),
    ("F82", "high"),  # an undefined name: NameError when the line runs
    ("F7", "high"),  # return, yield, break or continue where Python refuses them
    ("F5", "medium"),  # a format string that raises when it is used
    ("F6", "medium"),
    ("B", "medium"),
)
"""ruff calls every diagnostic an error; these rules are likelier than style to be bugs.
The first matching prefix decides; anything else is low."""


class LintError(ActorsError, RuntimeError):
    """ruff is missing, failed (a broken configuration, an unknown rule) or timed out."""

    def __init__(self, message: str, *, stderr: str = "", returncode: int | None = None) -> None:
        super().__init__(message)
        self.stderr = stderr
        self.returncode = returncode


class LintFinding(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["lint"] = "lint"
    rule_id: str
    """ruff's code (F401), or invalid-syntax for a file that does not parse."""
    rule: str
    """ruff's name for it (unused-import)."""
    file: str
    """Relative to the linted folder, with '/'."""
    line: int
    end_line: int
    column: int
    """From 0, as code_analysis's."""
    severity: Level
    confidence: Level = "high"
    message: str
    suggestion: str
    fixable: bool
    """autofix can fix it: its rule is in FIXABLE and ruff's fix here is a safe one."""
    more_info: str | None = None


def require_ruff() -> str:
    """The ruff binary's path, or LintError saying how to get it."""
    try:
        path: str = find_ruff_bin()
    except FileNotFoundError:
        raise LintError(
            "ruff is needed for lint findings and their fixes: install it (pip install ruff)"
        ) from None
    return path


async def lint(
    folder: Path, select: Sequence[str] = DEFAULT_SELECT, *, timeout: float = LINT_TIMEOUT
) -> list[LintFinding]:
    """What ruff finds in the Python files under `folder`, by file and line."""
    root = _folder(folder)
    out = await _check(
        root,
        f"--select={','.join(select)}",
        "--output-format=json",
        "--",
        str(root),
        timeout=timeout,
    )
    findings = [_finding(root, item) for item in msgspec.json.decode(out)]
    return sorted(findings, key=lambda f: (f.file, f.line, f.column, f.rule_id))


async def fix(root: Path, path: Path, rule: str) -> None:
    """ruff's safe fix for `rule` in `path` (a file under `root`), in place."""
    await _check(
        root,
        f"--select={rule}",
        "--fix",
        "--no-unsafe-fixes",
        "--quiet",
        "--",
        str(path),
        timeout=FILE_TIMEOUT,
    )


async def reported(root: Path, path: Path, rule: str) -> bool:
    """Whether ruff reports `rule` in `path`, `# noqa` comments notwithstanding."""
    out = await _check(
        root,
        f"--select={rule}",
        "--ignore-noqa",
        "--output-format=json",
        "--",
        str(path),
        timeout=FILE_TIMEOUT,
    )
    return any(item["code"] == rule for item in msgspec.json.decode(out))


async def _check(root: Path, *options: str, timeout: float) -> bytes:
    """`ruff check <options>` in `root`; its output. Findings are not failures
    (`--exit-zero`); anything else ruff refuses is a LintError."""
    process = await asyncio.create_subprocess_exec(
        require_ruff(),
        "check",
        "--no-cache",
        "--exit-zero",
        *options,
        cwd=root,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        raise LintError(f"ruff check in {root} took longer than {timeout:g} s") from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        said = err.decode(errors="replace").strip()
        raise LintError(
            f"ruff check in {root}: {said or f'exit code {process.returncode}'}",
            stderr=said,
            returncode=process.returncode,
        )
    return out


def _folder(folder: Path) -> Path:
    root = folder.resolve()
    if not root.is_dir():
        raise InvalidParameter("folder", f"{str(folder)!r} is not a folder")
    return root


def _finding(root: Path, item: dict[str, Any]) -> LintFinding:
    url: str | None = item["url"]
    # ruff 0.17 names the rule; 0.15 and older only in the address of the rule's page.
    name: str = item.get("name") or (url.rsplit("/", 1)[-1] if url else "invalid-syntax")
    code: str = item["code"] or name
    fix = item["fix"]
    safe = fix is not None and fix.get("applicability") == "safe"
    if fix is not None and fix.get("message"):
        suggestion = f"{fix['message']}."
    elif url:
        suggestion = f"See {url} for what ruff asks."
    else:
        suggestion = "Correct the syntax so the file parses."
    return LintFinding(
        rule_id=code,
        rule=name,
        file=Path(item["filename"]).relative_to(root).as_posix(),
        line=item["location"]["row"],
        end_line=item["end_location"]["row"],
        column=max(item["location"]["column"] - 1, 0),
        severity=next((level for prefix, level in _SEVERITY if code.startswith(prefix)), "low"),
        message=item["message"],
        suggestion=suggestion,
        fixable=safe and code in FIXABLE,
        more_info=url,
    )
