"""UTC time as AMAS writes it: one place for every conversion and format.

The log stores commit times as whole microseconds since the epoch; everything shown
(events, rows, HTTP answers) is ISO 8601 in UTC with a `Z`, which sorts as text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive time is taken to be UTC already."""
    if moment.tzinfo is UTC:
        return moment
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def micros(moment: datetime) -> int:
    """Exact microseconds since the epoch (no float on the way; naive means UTC)."""
    return (utc(moment) - EPOCH) // _MICROSECOND


_last_micros: tuple[int, datetime] = (0, EPOCH)


def utc_from_micros(stamp: int) -> datetime:
    """A UTC datetime; one group commit stamps all its events alike, so keep the last."""
    global _last_micros
    if _last_micros[0] != stamp:
        _last_micros = (stamp, datetime.fromtimestamp(stamp / 1_000_000, UTC))
    return _last_micros[1]


_last_iso: tuple[datetime, str] = (EPOCH, "1970-01-01T00:00:00.000000Z")


def iso(moment: datetime) -> str:
    """`2026-11-30T09:19:04.690782Z`: microseconds, for times the log recorded."""
    global _last_iso
    last = _last_iso
    if last[0] is moment or last[0] == moment:  # events of one group commit share their time
        return last[1]
    _last_iso = last = (moment, utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return last[1]


def iso_seconds(moment: datetime) -> str:
    """`2026-11-30T09:19:04Z`: whole seconds, for times a person chose or reads."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso_seconds() -> str:
    return iso_seconds(datetime.now(UTC))
