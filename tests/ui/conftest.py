"""Fixtures for the console in a real browser.

served     a node (a fake OpenAI-style vendor as its deepseek provider, a planted git
           repository in its code scope) with its API on uvicorn, on an event loop of
           its own in a thread: selenium's calls block, and the node answers the
           browser meanwhile
browser    headless Chromium through the system's chromedriver, one per module; the
           tests skip, saying why, where no Chromium is installed
shots      the folder screenshots go to: $AMAS_CONSOLE_SCREENSHOTS, else a folder in
           pytest's temporary directory (its path is printed)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from actors.agents.scope import CodeScope, NetworkScope, Scopes
from actors.providers.catalog import from_env
from tests.conftest import ADMIN_KEY, CLIENT_TLS, fresh_config
from tests.fakes.llm import ok
from tests.fakes.llm.openai_api import FakeOpenAI
from tests.fixtures.planted_repo import PlantedRepo, make_repo
from tests.threaded import node_in_a_thread
from tests.ui.browser import Browser, find_chromium

WAIT = 20.0


@dataclass
class Served:
    root: str
    """http://127.0.0.1:<port>"""
    api: httpx.Client
    """/api/v1 with the admin key."""
    repo: PlantedRepo


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("console")
    repo = make_repo(tmp / "code" / "shop")
    with FakeOpenAI("sk-console-test-key-0001") as vendor:
        vendor.default = ok("pong")  # what the provider test asks for
        config = fresh_config(tmp)
        config.providers = from_env(
            {"AMAS_PROVIDER_DEEPSEEK_API_KEY": vendor.key,
             "AMAS_PROVIDER_DEEPSEEK_BASE_URL": vendor.base_url}
        )  # fmt: skip
        config.scopes = Scopes(NetworkScope.parse("127.0.0.1/32"), CodeScope.parse(None, repo.path))
        with (
            node_in_a_thread(config, name="console-node") as root,
            httpx.Client(
                base_url=f"{root}/api/v1",
                headers={"X-API-Key": ADMIN_KEY},
                timeout=WAIT,
                verify=CLIENT_TLS,
            ) as api,
        ):
            yield Served(root, api, repo)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("AMAS_CONSOLE_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.getbasetemp() / "console-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nconsole screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest, shots: Path) -> Iterator[Browser]:
    found = find_chromium()
    if found is None:
        pytest.skip(
            "no Chromium here: the console's browser tests need chromium and chromedriver "
            "(Debian: apt-get install chromium chromium-driver; .ci/run installs them)"
        )
    served: Served = request.getfixturevalue("served")  # a node only for a browser
    with Browser.start(*found, root=served.root, shots=shots) as browser:
        yield browser


@pytest.fixture
def clean_console(browser: Browser) -> Iterator[None]:
    browser.console_errors()  # what an earlier test left is that test's
    yield
    assert browser.console_errors() == []
