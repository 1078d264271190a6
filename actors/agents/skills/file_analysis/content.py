"""One pass over a file's bytes: hashes, byte histogram, printable strings, head for type."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter

import filetype

from actors.agents.skills.file_analysis.params import PrintableString

CHUNK = 1 << 20
_HEAD = 1 << 16
"""Enough for filetype's signatures (8 KiB) and for telling UTF-8 text from binary."""
_SHOWN = 256
_LONGEST = 1 << 16
"""A printable run longer than this is cut there, so a huge text file costs no more memory."""
_PRINTABLE = bytes(range(0x20, 0x7F))


class Digest:
    def __init__(self, min_length: int, max_strings: int) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha1 = hashlib.sha1(usedforsecurity=False)
        self.sha256 = hashlib.sha256()
        self.histogram: Counter[int] = Counter()
        self.head = b""
        self.size = 0
        self.strings: list[PrintableString] = []
        self.strings_total = 0
        self._pattern = re.compile(rb"[\x20-\x7e]{%d,}" % min_length)
        self._max_strings = max_strings
        self._carry = b""
        """A printable run at the end of the last chunk: it may go on in the next one."""

    def feed(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        self.sha1.update(chunk)
        self.sha256.update(chunk)
        self.histogram.update(chunk)
        if len(self.head) < _HEAD:
            self.head += chunk[: _HEAD - len(self.head)]
        text = self._carry + chunk
        start = self.size - len(self._carry)
        self.size += len(chunk)
        cut = len(text.rstrip(_PRINTABLE))
        if len(text) - cut > _LONGEST:
            cut = len(text)
        self._find_strings(text[:cut], start)
        self._carry = text[cut:]

    def finish(self) -> None:
        self._find_strings(self._carry, self.size - len(self._carry))
        self._carry = b""

    def entropy(self) -> float:
        """Shannon entropy in bits per byte."""
        if not self.size:
            return 0.0
        n = self.size
        return round(-math.fsum(c / n * math.log2(c / n) for c in self.histogram.values()), 4)

    def _find_strings(self, text: bytes, start: int) -> None:
        room = self._max_strings - len(self.strings)
        for found in self._pattern.finditer(text):
            self.strings_total += 1
            if room > 0:
                room -= 1
                self.strings.append(
                    PrintableString(
                        offset=start + found.start(),
                        length=found.end() - found.start(),
                        text=found.group()[:_SHOWN].decode("ascii"),
                    )
                )


def detect_type(head: bytes, complete: bool) -> tuple[str, str | None]:
    """(mime, extension) from the first bytes; `complete`: `head` is the whole file."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime), str(kind.extension)
    if b"\x00" not in head and _utf8(head, complete):
        return "text/plain", None
    return "application/octet-stream", None


def _utf8(head: bytes, complete: bool) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        # The sample may end inside a character: only a sequence cut at the end is forgiven.
        return not complete and e.reason == "unexpected end of data" and e.start >= len(head) - 3
    return True
