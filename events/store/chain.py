"""The hash chain: each event's hash covers the previous hash and its canonical bytes."""

from __future__ import annotations

import hashlib

import msgspec

GENESIS = bytes(32)

_encode = msgspec.msgpack.Encoder().encode


def canonical_bytes(
    position: int,
    event_id: str,
    stream: str,
    version: int,
    type_name: str,
    schema: int,
    ts_micros: int,
    data: bytes,
    meta: bytes,
) -> bytes:
    """Every stored column but the hash, in one unambiguous (length-prefixed) encoding."""
    return _encode((position, event_id, stream, version, type_name, schema, ts_micros, data, meta))


def link(previous: bytes, canonical: bytes) -> bytes:
    return hashlib.sha256(previous + canonical).digest()
