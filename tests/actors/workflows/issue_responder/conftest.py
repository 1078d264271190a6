"""Fixtures for the issue responder's GitHub side: a fake GitHub on a loopback port, one
httpx client, and a GitHubClient pointed at the fake with its token.

    gh        a started FakeGitHub (repo owner/repo, default branch main)
    http      one httpx.AsyncClient
    github    GitHubClient(http, gh.repo, gh.token, api_url=gh.base_url)
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from actors.workflows.issue_responder.github import GitHubClient
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


@pytest.fixture
def github(gh: FakeGitHub, http: httpx.AsyncClient) -> GitHubClient:
    return GitHubClient(http, gh.repo, gh.token, api_url=gh.base_url)
