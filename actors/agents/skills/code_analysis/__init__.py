"""`code_analysis`: bandit's security findings and radon's complexity and maintainability
index over a folder (or one file) of Python inside AMAS_CODE_SCOPE.

Each finding has its file, line, severity, confidence, rule id and a suggestion. Every
file is read and parsed once, and bandit and radon walk the same tree, in a skill thread
(threads.py) that reports progress as files are done. bandit and radon load their
plugins on first use (about 150 ms), not when the node starts.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import msgspec

from actors.agents.scope import Scopes
from actors.agents.skills import inputs
from actors.agents.skills.base import Context, Progress, Skill
from actors.agents.skills.code_analysis.params import CodeAnalysisParams
from actors.agents.skills.paths import in_scope
from actors.agents.skills.threads import in_thread


def check_scope(params: CodeAnalysisParams, scopes: Scopes) -> None:
    in_scope(scopes.code, "path", params.path, "folder or file")


async def code_analysis(
    params: CodeAnalysisParams, progress: Progress, context: Context
) -> dict[str, Any]:
    from actors.agents.skills.code_analysis.analysis import analyze

    code = context.scopes.code
    root = in_scope(code, "path", params.path, "folder or file")
    result = await in_thread(partial(analyze, root, params, code), progress)
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]


SKILL = Skill("code_analysis", CodeAnalysisParams, code_analysis, check_scope, inputs.python_tree)
