"""radon.raw.analyze's line counts, from the one tokenize pass bandit's `# nosec` reading
needs anyway.

radon.raw.analyze tokenizes a file again in pieces, a statement at a time (a quarter of
the whole analysis). Its pieces are exactly the file's statements as one tokenize pass
sees them: a NEWLINE ends one, and so does an NL outside brackets (a blank or comment
line). Each piece is then counted with radon's own rules (`_logical` for the logical
lines). A file whose lines Python and str.splitlines count differently (a form feed, a
vertical tab) is left to radon.raw.analyze itself; the tests hold both to the same figures.
"""

from __future__ import annotations

import tokenize
from collections.abc import Sequence

from radon.raw import Module, _logical, analyze

_SKIPPED = frozenset({tokenize.ENCODING, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER})
_END = tokenize.TokenInfo(tokenize.ENDMARKER, "", (0, 0), (0, 0), "")
_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")
_TRAILING = frozenset({tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER})


def raw_counts(text: str, tokens: Sequence[tokenize.TokenInfo] | None) -> Module:
    """What radon.raw.analyze(text) answers; `tokens` are the whole file's."""
    lines = text.splitlines()
    if tokens is None or not _same_lines(text, lines):
        return analyze(text)
    counts = _Counts(lines)
    piece: list[tokenize.TokenInfo] = []
    depth = 0
    for token in tokens:
        if token.type in _SKIPPED:
            continue
        piece.append(token)
        if token.type == tokenize.OP:
            depth += (token.string in _OPEN) - (token.string in _CLOSE)
        elif token.type == tokenize.NEWLINE or (token.type == tokenize.NL and depth <= 0):
            counts.add(piece)
            piece, depth = [], 0
    if piece:
        counts.add(piece)
    return counts.module()


class _Counts:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.lloc = self.comments = self.single_comments = self.multi = 0
        self.blank = self.sloc = 0

    def add(self, piece: list[tokenize.TokenInfo]) -> None:
        """One statement, or one blank or comment line, as radon.raw.analyze counts it."""
        first, last = piece[0].start[0], piece[-1].end[0]
        piece = [*piece, _END]
        self.comments += sum(1 for t in piece if t.type == tokenize.COMMENT)
        head = piece[0]
        filled = sum(1 for line in self.lines[first - 1 : last] if line.strip())
        if head.type == tokenize.COMMENT and _only_trailing(piece):
            self.single_comments += 1
        elif head.type == tokenize.STRING and _only_trailing(piece):
            if head.start[0] == head.end[0]:
                self.single_comments += 1
            else:
                self.multi += filled
                self.blank += last - first + 1 - filled
        else:
            self.sloc += filled
            self.blank += last - first + 1 - filled
        self.lloc += _logical(piece)

    def module(self) -> Module:
        loc = self.sloc + self.blank + self.multi + self.single_comments
        return Module(
            loc, self.lloc, self.sloc, self.comments, self.multi, self.blank, self.single_comments
        )


def _only_trailing(piece: list[tokenize.TokenInfo]) -> bool:
    return all(t.type in _TRAILING for t in piece[1:])


def _same_lines(text: str, lines: list[str]) -> bool:
    """Whether tokenize's line numbers index `lines` (only \\n, \\r\\n and \\r break)."""
    breaks = text.count("\n") + text.count("\r") - text.count("\r\n")
    return len(lines) == breaks + (not text.endswith(("\n", "\r")) and bool(text))
