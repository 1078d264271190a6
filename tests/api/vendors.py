"""A node whose first providers are fake vendors on 127.0.0.1: deepseek and glm (OpenAI
style), claude (Anthropic); the other 13 have no key. The router's waits are short."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.providers.catalog import from_env
from actors.providers.router import RouterSettings
from amas.runtime.node import NodeConfig
from tests.conftest import fresh_config
from tests.fakes.llm.anthropic_api import FakeAnthropic
from tests.fakes.llm.openai_api import FakeOpenAI


@dataclasses.dataclass
class Vendors:
    deepseek: FakeOpenAI
    glm: FakeOpenAI
    claude: FakeAnthropic

    def env(self) -> dict[str, str]:
        env = {}
        for name, fake in (("DEEPSEEK", self.deepseek), ("GLM", self.glm), ("CLAUDE", self.claude)):
            env[f"AMAS_PROVIDER_{name}_API_KEY"] = fake.key
            env[f"AMAS_PROVIDER_{name}_BASE_URL"] = fake.base_url
        return env

    def calls(self) -> dict[str, int]:
        return {
            "deepseek": self.deepseek.count("/chat/completions"),
            "glm": self.glm.count("/chat/completions"),
            "claude": self.claude.count("/messages"),
        }


ROUTER = RouterSettings(retry_budget=3.0, backoff_base=0.01, backoff_cap=0.05)


@pytest.fixture
def vendors() -> Iterator[Vendors]:
    with (
        FakeOpenAI("sk-deepseek-test-key-0001") as deepseek,
        FakeOpenAI("sk-glm-test-key-0002") as glm,
        FakeAnthropic("sk-ant-test-key-0003") as claude,
    ):
        yield Vendors(deepseek, glm, claude)


def config_with(vendors: Vendors, root: Path, **env: str) -> NodeConfig:
    config = fresh_config(root)
    config.providers = from_env({**vendors.env(), **env})
    config.router = ROUTER
    return config


def ask(**extra: object) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": "Say hello"}], **extra}
