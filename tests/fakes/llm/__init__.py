"""Fake AI vendors on 127.0.0.1, one module per API style on the scripted server of
`server.py` (its docstring shows the scripting); tests and benchmarks use the same.

This package re-exports the scripting; `vendors.FAKES` has the fake of each style. (The
style modules are not imported here, so that `python -m tests.fakes.llm.openai_api`
runs a module that nothing imported before.)
"""

from __future__ import annotations

from tests.fakes.llm.server import (
    KEY,
    FakeVendor,
    Reply,
    Request,
    context_too_long,
    hang,
    malformed,
    not_found,
    ok,
    overloaded,
    quota_exhausted,
    rate_limited,
    server_error,
    slow,
    stream_cut,
    stream_error,
)

__all__ = [
    "KEY",
    "FakeVendor",
    "Reply",
    "Request",
    "context_too_long",
    "hang",
    "malformed",
    "not_found",
    "ok",
    "overloaded",
    "quota_exhausted",
    "rate_limited",
    "server_error",
    "slow",
    "stream_cut",
    "stream_error",
]
