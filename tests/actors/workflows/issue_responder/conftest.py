"""Fixtures for the issue responder's GitHub side: a fake GitHub on a loopback port and
one httpx client.

    gh        a started FakeGitHub (repo owner/repo, default branch main)
    http      one httpx.AsyncClient
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.fakes.github import FakeGitHub


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture(scope="session")
def tls() -> ssl.SSLContext:
    return ssl.create_default_context()  # one for the session: each costs ~30 ms


@pytest.fixture
async def http(tls: ssl.SSLContext) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(verify=tls, timeout=5) as client:
        yield client
