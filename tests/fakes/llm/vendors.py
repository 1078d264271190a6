"""The fake of each API style, by the style's name (the names of actors.providers.clients)."""

from __future__ import annotations

from tests.fakes.llm.anthropic_api import FakeAnthropic
from tests.fakes.llm.cohere_api import FakeCohere
from tests.fakes.llm.gemini_api import FakeGemini
from tests.fakes.llm.openai_api import FakeOpenAI
from tests.fakes.llm.server import FakeVendor

__all__ = ["FAKES", "FakeAnthropic", "FakeCohere", "FakeGemini", "FakeOpenAI"]

FAKES: dict[str, type[FakeVendor]] = {
    fake.style: fake for fake in (FakeOpenAI, FakeAnthropic, FakeGemini, FakeCohere)
}
