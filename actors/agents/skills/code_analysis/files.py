"""The Python files under a folder: excluded folders pruned, not walked.

A symlink inside the folder may point anywhere: a linked file is kept only when its
target is inside the code scope too, and linked folders are not followed (as `bandit -r`).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from actors.agents.scope import CodeScope
from actors.agents.skills.code_analysis.params import Skipped
from actors.errors import OutOfScope


@dataclass
class Found:
    files: list[tuple[str, Path]] = field(default_factory=list)
    """(name relative to the root, with '/'; the file to read)."""
    skipped: list[Skipped] = field(default_factory=list)
    truncated: bool = False


class Excluder:
    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)

    def __call__(self, relative: str) -> bool:
        """Whether `relative` ('a/b/c.py'), or one folder or name in it, matches."""
        parts = PurePosixPath(relative).parts
        candidates = [relative, *parts, *("/".join(parts[:i]) for i in range(2, len(parts)))]
        return any(fnmatch.fnmatchcase(c, p) for p in self.patterns for c in candidates)


def python_files(root: Path, exclude: Excluder, code: CodeScope, limit: int) -> Found:
    """The *.py files under `root` (or `root` itself if it is a file), sorted, at most
    `limit` of them."""
    found = Found()
    if root.is_file():
        found.files.append((root.name, root))
        return found
    candidates: list[tuple[str, Path]] = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        base = here.relative_to(root).as_posix()
        prefix = "" if base == "." else f"{base}/"
        dirs[:] = sorted(d for d in dirs if not exclude(prefix + d))
        for name in names:
            relative = prefix + name
            if name.endswith(".py") and not exclude(relative):
                candidates.append((relative, here / name))
    candidates.sort()
    for relative, path in candidates:
        if path.is_symlink():
            try:
                path = code.resolve("path", str(path))
            except OutOfScope:
                found.skipped.append(Skipped(file=relative, reason="a symlink out of the scope"))
                continue
            except (RuntimeError, OSError) as e:
                found.skipped.append(Skipped(file=relative, reason=f"unresolvable: {e}"))
                continue
        if len(found.files) == limit:
            found.truncated = True
            break
        found.files.append((relative, path))
    return found
