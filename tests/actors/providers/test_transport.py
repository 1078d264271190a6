"""What every client shares: server-sent events read from text as it arrives, and a
stream's bytes decoded whole whatever the network's chunking."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from actors.providers.clients import (
    ChatRequest,
    Delta,
    Done,
    Message,
    StreamEvent,
    make_client,
)
from actors.providers.clients.transport import SseEvent, SseParser

EVENTS = (
    b": keep-alive comment\n"
    b"event: content_block_delta\n"
    b'data: {"a": 1}\n'
    b"\n"
    b'data:{"b": 2}\r\n'
    b"data: second line\r\n"
    b"\r\n"
    b"event: ping\n"
    b"\n"
    b"data: [DONE]\n"
    b"\n"
)
EXPECTED = [
    SseEvent("content_block_delta", '{"a": 1}'),
    SseEvent(None, '{"b": 2}\nsecond line'),
    SseEvent(None, "[DONE]"),
]


def test_events_are_read_whole_with_their_names_and_lines() -> None:
    assert SseParser().feed(EVENTS.decode()) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 7])
def test_events_split_anywhere_across_chunks_read_the_same(size: int) -> None:
    parser = SseParser()
    text = EVENTS.decode()
    events = [e for i in range(0, len(text), size) for e in parser.feed(text[i : i + size])]
    assert events == EXPECTED


def test_an_event_without_its_blank_line_is_not_read() -> None:
    assert SseParser().feed('data: {"cut": ') == []


class Chunks(httpx.AsyncByteStream):
    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


async def openai_stream(*chunks: bytes) -> list[StreamEvent]:
    """What the openai client makes of a 200 answer of these bytes."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=Chunks(*chunks)))
    async with httpx.AsyncClient(transport=transport) as http:
        client = make_client("openai", http, "http://vendor.test/v1", "sk-test")
        request = ChatRequest(messages=[Message("user", "Hi")], model="m")
        return [event async for event in client.stream(request, timeout=1)]


async def test_a_character_split_between_network_chunks_arrives_whole() -> None:
    event = 'data: {"choices": [{"delta": {"content": "Grüße 👋"}}]}\n\n'.encode()
    cut = event.index("👋".encode()) + 2
    events = await openai_stream(event[:cut], event[cut:], b"data: [DONE]\n\n")
    assert events[0] == Delta("Grüße 👋")
    assert isinstance(events[1], Done) and events[1].result.content == "Grüße 👋"


async def test_an_openai_style_stream_without_done_is_whole_after_its_finish_reason() -> None:
    events = await openai_stream(
        b'data: {"choices": [{"delta": {"content": "Hi"}}]}\n\n',
        b'data: {"choices": [{"delta": {}, "finish_reason": "stop"}]}\n\n',
    )
    assert isinstance(events[-1], Done) and events[-1].result.finish_reason == "stop"
