"""/ai/complete: one chat completion through the node's router, with failover.

The answer names the provider and model that answered and every provider tried or
skipped on the way (`attempts`), with the tokens used and the cost (null when the
provider's prices are not configured). With `"stream": true` it is server-sent events:
`attempt` for each failed try, `delta` for each piece of text, then `done` with the
same body as the plain answer, or `error` with the error envelope's `error`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.auth.scopes import WRITE
from api.deps import port_of, request_meta
from api.errors import ApiError, check
from api.port import NodePort
from api.schemas import CompleteBody
from events.commands import COMPLETE, ChatMessage, Complete, Reply, stream_piece_decoder
from events.ids import new_prefixed_id
from events.vocabulary import ErrorCode

router = APIRouter(prefix="/ai", tags=["ai"])

_MARGIN = 10.0
"""Seconds the edge waits beyond the router's own budget for its answer."""


def _command(body: CompleteBody, request: Request, stream_to: str | None = None) -> Complete:
    return Complete(
        messages=[ChatMessage(m.role, m.content) for m in body.messages],
        strategy=body.strategy,
        providers=body.providers,
        max_tokens=body.max_tokens,
        temperature=body.temperature,
        stream_to=stream_to,
        meta=request_meta(request),
    )


@router.post(
    "/complete",
    dependencies=[WRITE],
    responses={
        200: {"content": {"text/event-stream": {}}},
        503: {"description": "AI_PROVIDER_UNAVAILABLE: no provider could answer"},
    },
)
async def complete(body: CompleteBody, request: Request) -> Any:
    port = port_of(request)
    timeout = port.ai_providers()["retry_budget"] + _MARGIN
    if body.stream:
        subject = f"amas.stream.{new_prefixed_id('stream')}"
        command = _command(body, request, subject)
        return StreamingResponse(
            _events(port, command, subject, timeout),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    reply = check(await port.send(COMPLETE, _command(body, request), timeout=timeout))
    return reply.data


async def _events(
    port: NodePort, command: Complete, subject: str, timeout: float
) -> AsyncIterator[str]:
    async with port.listen(subject) as pieces:
        answer = asyncio.ensure_future(port.send(COMPLETE, command, timeout=timeout))
        try:
            while True:
                piece = asyncio.ensure_future(pieces.get())
                await asyncio.wait({piece, answer}, return_when=asyncio.FIRST_COMPLETED)
                if not piece.done():
                    piece.cancel()
                    break
                yield _piece(piece.result())
            while not pieces.empty():  # what was published before the answer
                yield _piece(pieces.get_nowait())
            yield _final(answer)
        finally:
            answer.cancel()


def _piece(raw: bytes) -> str:
    piece = stream_piece_decoder.decode(raw)
    if piece.kind == "delta":
        return _sse("delta", {"text": piece.text})
    return _sse(piece.kind, {"provider": piece.provider, "outcome": piece.outcome,
                             "reason": piece.reason})  # fmt: skip


def _final(answer: asyncio.Future[Reply]) -> str:
    try:
        reply = check(answer.result())
    except ApiError as e:
        return _sse("error", {"code": e.code, "message": e.message, "details": e.details})
    except Exception as e:  # the bus failed: the stream ends with the reason
        return _sse("error", {"code": ErrorCode.SERVICE_UNAVAILABLE, "message": str(e)})
    return _sse("done", reply.data)


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
