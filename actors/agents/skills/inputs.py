"""What a skill's result depends on besides its parameters: the result cache's key.

A skill whose result depends only on its parameters and the files they name declares
`inputs`: a fingerprint of those files' contents (b"" when there are none). The same
parameters and the same fingerprint give the same result, so it may be served from the
result cache when caching is on for the task type. Skills that look at the world (scans,
crawls, DNS) declare none and are never cached.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import msgspec

from actors.agents.scope import Scopes
from actors.agents.skills.paths import in_scope

_CHUNK = 1 << 20


def none(params: Any, scopes: Scopes) -> bytes:
    """The result depends on the parameters alone."""
    return b""


def one_file(params: Any, scopes: Scopes) -> bytes:
    """The contents of the file at `params.path` (none: the parameters alone)."""
    if getattr(params, "path", None) is None:
        return b""
    return _file_digest(in_scope(scopes.code, "path", params.path, "file"))


def python_tree(params: Any, scopes: Scopes) -> bytes:
    """Every file's name and contents under the folder (or the file) at `params.path`."""
    root = in_scope(scopes.code, "path", params.path, "folder or file")
    if root.is_file():
        return _file_digest(root)
    digest = hashlib.sha256()
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder, name)
            if path.is_file():
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(_file_digest(path))
    return digest.digest()


def cache_key(task_type: str, parameters: dict[str, Any], inputs: bytes) -> str:
    """The key of a result: the type, the parameters (keys sorted) and the inputs."""
    digest = hashlib.sha256(task_type.encode() + b"\0")
    digest.update(msgspec.json.encode(parameters, order="sorted") + b"\0")
    digest.update(inputs)
    return digest.hexdigest()


def _file_digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.digest()
