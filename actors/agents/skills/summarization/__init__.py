"""`summarization`: an extractive summary of text, or of earlier tasks' results.

The classic frequency method (Luhn 1958): sentences are scored by how often their
content words occur in the whole text, normalised by length, and the best `sentences`
are kept in their original order. For tasks, the text is the descriptions, messages
and other strings in their results.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Any

import msgspec

from actors.agents.scope import Scopes
from actors.agents.skills.base import Context, Progress, Skill
from actors.errors import InvalidParameter

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n{2,}")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_STOP = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "has",
    "have", "he", "her", "his", "i", "if", "in", "into", "is", "it", "its", "of", "on", "or",
    "our", "she", "so", "such", "that", "the", "their", "them", "then", "there", "these",
    "they", "this", "to", "was", "we", "were", "what", "when", "which", "who", "will", "with",
    "you", "your", "not", "no", "can", "could", "would", "should", "may", "might", "do",
    "does", "did", "than", "also", "more", "most", "other", "some", "any", "all", "each",
))  # fmt: skip
_MAX_TEXT = 1_000_000


class SummaryParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(max_length=_MAX_TEXT)] = ""
    task_ids: Annotated[list[str], msgspec.Meta(max_length=100)] = []
    sentences: Annotated[int, msgspec.Meta(ge=1, le=50)] = 3


def _check(params: SummaryParams, scopes: Scopes) -> None:
    if not params.text.strip() and not params.task_ids:
        raise InvalidParameter("text", "give text, or task_ids whose results to summarise")


async def summarize(params: SummaryParams, progress: Progress, context: Context) -> dict[str, Any]:
    parts = [params.text] if params.text.strip() else []
    for task_id in params.task_ids:
        task = await context.read_task(task_id)
        if task is not None:
            parts += list(_strings(task.get("result")))
    text = "\n\n".join(p.strip() for p in parts if p.strip())
    chosen, total = extract(text, params.sentences)
    await progress(90, f"{len(chosen)} of {total} sentences")
    return {
        "summary": " ".join(chosen),
        "sentences": chosen,
        "sentences_in": total,
        "words_in": len(_WORD.findall(text)),
    }


def extract(text: str, keep: int) -> tuple[list[str], int]:
    """The `keep` best sentences of `text` in their order, and how many there were."""
    sentences = [" ".join(s.split()) for s in _SENTENCE.split(text) if s and s.strip()]
    frequency = Counter(w for w in (x.lower() for x in _WORD.findall(text)) if w not in _STOP)
    if not frequency:
        return sentences[:keep], len(sentences)
    top = max(frequency.values())

    def score(sentence: str) -> float:
        words = [w.lower() for w in _WORD.findall(sentence)]
        content = [w for w in words if w not in _STOP]
        return sum(frequency[w] / top for w in content) / (len(words) ** 0.5 or 1)

    best = sorted(range(len(sentences)), key=lambda i: (-score(sentences[i]), i))[:keep]
    return [sentences[i] for i in sorted(best)], len(sentences)


def _strings(value: Any, depth: int = 0) -> list[str]:
    if depth > 8:
        return []
    if isinstance(value, str):
        return [value] if " " in value.strip() else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v, depth + 1)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, depth + 1)]
    return []


SKILL = Skill("summarization", SummaryParams, summarize, _check)
