"""Files the analysis skills read: inside the code scope, and opened without surprises.

`in_scope` is what a skill's check_scope calls: outside AMAS_CODE_SCOPE is OutOfScope (a
403 at submit), a path that does not exist or is of the wrong kind an InvalidParameter
(a 400). `open_regular` opens without following a last symlink and without blocking on a
FIFO, and refuses anything but a regular file, so a folder that holds a pipe or a device
node named `x.py` cannot hang or flood an analysis.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO, Literal

from actors.agents.scope import CodeScope
from actors.errors import InvalidParameter, OutOfScope

Kind = Literal["file", "folder or file"]

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC


def in_scope(code: CodeScope, parameter: str, path: str, kind: Kind) -> Path:
    """`path` resolved, inside the scope, existing, and a regular file (or a folder)."""
    try:
        resolved = code.resolve(parameter, path)
    except OutOfScope:
        raise
    except (RuntimeError, OSError) as e:  # a symlink loop, a name too long
        raise InvalidParameter(parameter, f"cannot resolve {path!r}: {e}") from None
    try:
        mode = resolved.stat().st_mode
    except FileNotFoundError:
        raise InvalidParameter(parameter, f"{path!r} does not exist") from None
    except OSError as e:
        raise InvalidParameter(parameter, f"cannot read {path!r}: {e.strerror}") from None
    if stat.S_ISREG(mode) or (kind == "folder or file" and stat.S_ISDIR(mode)):
        return resolved
    wanted = "a regular file" if kind == "file" else "a folder or a regular file"
    raise InvalidParameter(parameter, f"{path!r} is not {wanted}")


class NotRegular(OSError):
    """The path is no longer (or never was) a regular file."""


def open_regular(path: Path) -> BinaryIO:
    """`path` open for reading in binary; NotRegular for anything but a regular file."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegular(f"{path} is not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
