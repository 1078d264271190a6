"""What `file_analysis` takes and what it answers."""

from __future__ import annotations

from typing import Annotated

import msgspec

MiB = 1 << 20


class FileAnalysisParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    path: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    """A regular file inside AMAS_CODE_SCOPE."""
    max_bytes: Annotated[int, msgspec.Meta(ge=1, le=1024 * MiB)] = 32 * MiB
    """Read at most this much: hashes, entropy and strings cover what was read."""
    min_string_length: Annotated[int, msgspec.Meta(ge=2, le=256)] = 4
    max_strings: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 100
    """The first ones are listed; `strings_total` counts them all."""


class PrintableString(msgspec.Struct, frozen=True, kw_only=True):
    offset: int
    length: int
    text: str
    """The first 256 characters of it."""


class FileAnalysisResult(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    size: int
    bytes_read: int
    truncated: bool
    """The file is larger than max_bytes: every figure below covers its first max_bytes."""
    mtime: str
    ctime: str
    """ISO 8601 UTC; ctime is the inode's last change (creation time on Windows)."""
    md5: str
    sha1: str
    sha256: str
    mime: str
    extension: str | None
    """From the content's magic numbers (filetype); text/plain for UTF-8 text, else
    application/octet-stream, both without an extension."""
    entropy: float
    """Shannon entropy in bits per byte (0-8; above about 7.5: compressed or encrypted)."""
    strings: list[PrintableString]
    strings_total: int
