"""Issue text cleaned before it reaches a prompt: what a reader of the issue on GitHub
cannot see is removed, so that it cannot instruct the model (invisible prompt
injection, which the Copilot coding agent strips too). What a reader sees stays as
written, `<details>` included (a click shows it).

Removed, and counted per kind in `Cleaned.removed` (a kind appears only when found):

    html_comment        <!-- ... --> (an unclosed one to the end, as a browser hides it)
    hidden_element      an element with a `hidden` attribute or a display:none or
                        visibility:hidden style, or a <script>, <style>, <template>:
                        tags and content (an unclosed one to the end)
    zero_width          U+200B, U+200C, U+200D, U+2060, U+FEFF
    bidi                U+202A-U+202E, U+2066-U+2069 (Trojan Source), U+200E, U+200F, U+061C
    tag                 U+E0000-U+E007F: invisible copies of ASCII
    variation_selector  U+E0100-U+E01EF, and U+FE00-U+FE0F unless right after a visible
                        character (runs of selectors carry hidden bytes; the one after
                        an emoji is kept)
    format              any other invisible format character (Unicode category Cf)
    control             control characters but tab, line feed and carriage return

Characters go first, so markup split by an invisible character is still found. Removing
too much is the chosen failure: a comment quoted in a code block goes too, since
re-implementing markdown's code rules here could keep a hidden one by a near miss.
"""

from __future__ import annotations

import collections
import re
import unicodedata

import msgspec

__all__ = ["Cleaned", "clean"]


class Cleaned(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    removed: dict[str, int] = {}
    """How many of each kind were removed: characters, comments or elements."""


_KINDS = {
    **dict.fromkeys(map(chr, (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)), "zero_width"),
    **dict.fromkeys(map(chr, (*range(0x202A, 0x202F), *range(0x2066, 0x206A))), "bidi"),
    **dict.fromkeys(map(chr, (0x200E, 0x200F, 0x061C)), "bidi"),
    **dict.fromkeys(map(chr, range(0xE0000, 0xE0080)), "tag"),
    **dict.fromkeys(map(chr, range(0xE0100, 0xE01F0)), "variation_selector"),
}
_SUSPECT = re.compile(r"[^\t\n\r\x20-\x7e]")
_SELECTORS = frozenset(map(chr, (*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0))))
_KEPT_CONTROLS = frozenset("\t\n\r")

_COMMENT = re.compile(r"<!--(?:>|->|.*?(?:--!?>|\Z))", re.DOTALL)
# `<` is not allowed unquoted inside a tag (a browser allows it): each try then ends at the
# next `<`, which keeps a hostile text of many unclosed tags linear.
_TAG = re.compile(r"""<(/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:"[^"]*"|'[^']*'|[^'"<>])*)>""")
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")
_HIDING_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_NEVER_SHOWN = frozenset({"script", "style", "template"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


def clean(text: str) -> Cleaned:
    removed: collections.Counter[str] = collections.Counter()
    text = _strip_characters(text, removed)
    text, comments = _COMMENT.subn("", text)
    removed["html_comment"] += comments
    text = _strip_hidden_elements(text, removed)
    return Cleaned(text=text, removed={kind: n for kind, n in removed.items() if n})


def _kind(char: str, previous: str) -> str | None:
    """The kind of an invisible character, or None for one to keep."""
    if kind := _KINDS.get(char):
        return kind
    if char in _SELECTORS:
        bare = not previous or previous.isspace() or previous in _SELECTORS
        return "variation_selector" if bare else None
    if char.isprintable() or char in _KEPT_CONTROLS:
        return None
    return {"Cf": "format", "Cc": "control"}.get(unicodedata.category(char))


def _strip_characters(text: str, removed: collections.Counter[str]) -> str:
    if not _SUSPECT.search(text):
        return text  # plain ASCII, the usual case, at C speed
    kept = []
    previous = ""
    for char in text:
        kind = _kind(char, previous)
        if kind is None:
            kept.append(char)
        else:
            removed[kind] += 1
        previous = char
    return "".join(kept)


def _hides(name: str, attributes: str) -> bool:
    if name in _NEVER_SHOWN:
        return True
    for match in _ATTR.finditer(attributes):
        attribute, value = match[1].lower(), (match[2] or "").strip("'\"")
        if attribute == "hidden" or (attribute == "style" and _HIDING_STYLE.search(value)):
            return True
    return False


def _strip_hidden_elements(text: str, removed: collections.Counter[str]) -> str:
    kept: list[str] = []
    position = 0
    while match := _TAG.search(text, position):
        name = match[2].lower()
        if match[1] or not _hides(name, match[3]):
            kept.append(text[position : match.end()])
            position = match.end()
            continue
        kept.append(text[position : match.start()])
        removed["hidden_element"] += 1
        position = match.end() if name in _VOID else _element_end(text, name, match.end())
    kept.append(text[position:])
    return "".join(kept)


def _element_end(text: str, name: str, start: int) -> int:
    """Where the element opened just before `start` closes (nested ones of the same name
    counted), or the text's end if it never does."""
    depth = 1
    for match in _TAG.finditer(text, start):
        if match[2].lower() != name:
            continue
        depth += -1 if match[1] else 1
        if depth == 0:
            return match.end()
    return len(text)
