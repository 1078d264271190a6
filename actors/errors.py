"""Errors of the actors.

    ActorsError
     ├── InvalidParameter   a task's parameters do not fit its skill (also ValueError)
     ├── OutOfScope         a target outside the allow-list (also PermissionError)
     ├── ProviderError      one AI vendor call failed (providers/errors.py: its `kind`)
     ├── StepError          a workflow step could not do its outside work (workflows/engine.py)
     ├── GitError           git failed or an operation was refused (workflows/gitops.py)
     ├── LintError          ruff failed or is missing (workflows/lint.py)
     ├── GitHubError        a GitHub call failed (workflows/issue_responder/github.py)
     └── LocalIssuesError   an issue file that does not read (issue_responder/local.py)

Commands refused by an actor are not exceptions: they are a `Reply` with an ErrorCode
(events/commands). The bus's own failure is events.commands.BusUnavailable.
"""

from __future__ import annotations


class ActorsError(Exception):
    """Root of every error raised by `actors`."""


class InvalidParameter(ActorsError, ValueError):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"parameter {name!r}: {reason}")
        self.name = name
        self.reason = reason


class OutOfScope(ActorsError, PermissionError):
    """A network or file target outside the node's allow-list (AMAS_SCAN_SCOPE,
    AMAS_CODE_SCOPE): refused before a packet is sent or a file is opened."""

    def __init__(self, parameter: str, target: str, reason: str) -> None:
        super().__init__(f"parameter {parameter!r}: {target!r} is outside the scope: {reason}")
        self.name = parameter
        self.target = target
        self.reason = reason
