"""What each style's client puts on the wire, as its fake vendor recorded it: paths,
headers, and the request body in the vendor's own shape (system prompts, roles, limits)."""

from __future__ import annotations

import httpx
import pytest

from actors.providers.clients import ChatClient, ChatRequest, Done, Message, Usage, make_client
from tests.fakes.llm import FakeVendor

MESSAGES = [
    Message("system", "Answer briefly."),
    Message("user", "Say hello."),
    Message("assistant", "Hello?"),
    Message("system", "Be kind."),
    Message("user", "Once more."),
]
AS_SENT = [{"role": m.role, "content": m.content} for m in MESSAGES]
LIMITED = ChatRequest(messages=MESSAGES, model="test-model", max_tokens=50, temperature=0.2)
PLAIN = ChatRequest(messages=MESSAGES, model="test-model")


async def drain(client: ChatClient, request: ChatRequest) -> None:
    async for _ in client.stream(request, timeout=2):
        pass


@pytest.mark.parametrize("fake", ["openai"], indirect=True)
async def test_openai_gets_the_messages_as_they_are(fake: FakeVendor, client: ChatClient) -> None:
    await client.complete(LIMITED, timeout=2)
    await drain(client, PLAIN)
    await client.models(timeout=2)
    chat, stream, models = fake.requests
    assert (chat.method, chat.path, models.path) == ("POST", "/v1/chat/completions", "/v1/models")
    assert chat.body == {
        "model": "test-model",
        "messages": AS_SENT,
        "max_tokens": 50,
        "temperature": 0.2,
    }
    assert stream.body == {
        "model": "test-model",
        "messages": AS_SENT,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


@pytest.mark.parametrize("fake", ["openai"], indirect=True)
async def test_openai_streams_without_stream_options_for_vendors_that_reject_them(
    fake: FakeVendor, http: httpx.AsyncClient
) -> None:
    client = make_client("openai", http, fake.base_url, fake.key, stream_usage=False)
    events = [event async for event in client.stream(PLAIN, timeout=2)]
    assert "stream_options" not in fake.requests[0].body
    assert isinstance(events[-1], Done) and events[-1].result.usage == Usage()


@pytest.mark.parametrize("fake", ["anthropic"], indirect=True)
async def test_anthropic_gets_the_system_prompt_on_top_and_a_max_tokens(
    fake: FakeVendor, client: ChatClient
) -> None:
    await client.complete(PLAIN, timeout=2)
    await drain(client, LIMITED)
    chat, stream = fake.requests
    assert chat.path == "/v1/messages"
    assert chat.headers["anthropic-version"] == "2023-06-01"
    assert chat.body == {
        "model": "test-model",
        "max_tokens": 1024,
        "messages": [m for m in AS_SENT if m["role"] != "system"],
        "system": "Answer briefly.\n\nBe kind.",
    }
    assert (stream.body["max_tokens"], stream.body["temperature"], stream.body["stream"]) == (
        50,
        0.2,
        True,
    )


@pytest.mark.parametrize("fake", ["gemini"], indirect=True)
async def test_gemini_gets_contents_with_its_roles_and_a_system_instruction(
    fake: FakeVendor, client: ChatClient
) -> None:
    await client.complete(PLAIN, timeout=2)
    await drain(client, LIMITED)
    chat, stream = fake.requests
    assert chat.path == "/v1beta/models/test-model:generateContent"
    assert (stream.path, stream.query) == (
        "/v1beta/models/test-model:streamGenerateContent",
        {"alt": "sse"},
    )
    assert chat.body == {
        "contents": [
            {"role": "user", "parts": [{"text": "Say hello."}]},
            {"role": "model", "parts": [{"text": "Hello?"}]},
            {"role": "user", "parts": [{"text": "Once more."}]},
        ],
        "systemInstruction": {"parts": [{"text": "Answer briefly."}, {"text": "Be kind."}]},
    }
    assert stream.body["generationConfig"] == {"maxOutputTokens": 50, "temperature": 0.2}


@pytest.mark.parametrize("fake", ["gemini"], indirect=True)
async def test_gemini_takes_a_model_named_with_its_prefix(
    fake: FakeVendor, client: ChatClient
) -> None:
    await client.complete(
        ChatRequest(messages=MESSAGES, model="models/gemini-2.5-flash"), timeout=2
    )
    assert fake.requests[0].path == "/v1beta/models/gemini-2.5-flash:generateContent"


@pytest.mark.parametrize("fake", ["cohere"], indirect=True)
async def test_cohere_gets_v2_chat_and_asks_v1_for_chat_models(
    fake: FakeVendor, client: ChatClient
) -> None:
    await client.complete(LIMITED, timeout=2)
    await drain(client, PLAIN)
    await client.models(timeout=2)
    chat, stream, models = fake.requests
    assert chat.path == "/v2/chat"
    assert chat.body == {
        "model": "test-model",
        "messages": AS_SENT,
        "max_tokens": 50,
        "temperature": 0.2,
    }
    assert stream.body["stream"] is True
    assert (models.path, models.query["endpoint"]) == ("/v1/models", "chat")
