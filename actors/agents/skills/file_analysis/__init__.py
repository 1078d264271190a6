"""`file_analysis`: hashes, detected type, entropy, printable strings, size and times of a
file inside AMAS_CODE_SCOPE.

The file is read once, in chunks, up to `max_bytes`, in a skill thread (threads.py).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import msgspec

from actors.agents.scope import Scopes
from actors.agents.skills import inputs
from actors.agents.skills.base import Context, Progress, Skill
from actors.agents.skills.file_analysis.content import CHUNK, Digest, detect_type
from actors.agents.skills.file_analysis.params import FileAnalysisParams, FileAnalysisResult
from actors.agents.skills.paths import in_scope, open_regular
from actors.agents.skills.threads import Reporter, in_thread
from events.clock import iso


def check_scope(params: FileAnalysisParams, scopes: Scopes) -> None:
    in_scope(scopes.code, "path", params.path, "file")


async def file_analysis(
    params: FileAnalysisParams, progress: Progress, context: Context
) -> dict[str, Any]:
    path = in_scope(context.scopes.code, "path", params.path, "file")
    result = await in_thread(partial(analyze, path, params), progress)
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]


def analyze(path: Path, params: FileAnalysisParams, report: Reporter) -> FileAnalysisResult:
    digest = Digest(params.min_string_length, params.max_strings)
    with open_regular(path) as file:
        status = os.fstat(file.fileno())
        planned = min(status.st_size, params.max_bytes)
        while digest.size < params.max_bytes:
            chunk = file.read(min(CHUNK, params.max_bytes - digest.size))
            if not chunk:
                break
            digest.feed(chunk)
            report(digest.size * 100 // max(planned, 1), f"read {digest.size} bytes")
        more = bool(file.read(1))
    digest.finish()
    whole = not more and digest.size == len(digest.head)
    mime, extension = detect_type(digest.head, complete=whole)
    return FileAnalysisResult(
        path=str(path),
        size=status.st_size,
        bytes_read=digest.size,
        truncated=more,
        mtime=iso(datetime.fromtimestamp(status.st_mtime, UTC)),
        ctime=iso(datetime.fromtimestamp(status.st_ctime, UTC)),
        md5=digest.md5.hexdigest(),
        sha1=digest.sha1.hexdigest(),
        sha256=digest.sha256.hexdigest(),
        mime=mime,
        extension=extension,
        entropy=digest.entropy(),
        strings=digest.strings,
        strings_total=digest.strings_total,
    )


SKILL = Skill("file_analysis", FileAnalysisParams, file_analysis, check_scope, inputs.one_file)
