"""Fixtures for the provider clients: each style's fake vendor on a loopback port, the
shared httpx client, and the style's client pointed at the fake with its key.

    fake      a started fake of each API style in turn (tests run once per style)
    tls       one SSL context for the session (making one per client costs ~30 ms)
    http      one httpx.AsyncClient, as the node shares one
    client    make_client(fake.style, http, fake.base_url, fake.key)
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from actors.providers.clients import STYLES, ChatClient, make_client
from tests.fakes.llm import FakeVendor
from tests.fakes.llm.vendors import FAKES


@pytest.fixture(params=STYLES)
def fake(request: pytest.FixtureRequest) -> Iterator[FakeVendor]:
    with FAKES[request.param]() as vendor:
        yield vendor


@pytest.fixture(scope="session")
def tls() -> ssl.SSLContext:
    return ssl.create_default_context()


@pytest.fixture
async def http(tls: ssl.SSLContext) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(verify=tls) as client:
        yield client


@pytest.fixture
def client(fake: FakeVendor, http: httpx.AsyncClient) -> ChatClient:
    return make_client(fake.style, http, fake.base_url, fake.key)
