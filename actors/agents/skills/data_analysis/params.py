"""What `data_analysis` takes and what it answers."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

MAX_FIELDS = 100
"""Columns analysed at most (the first ones, or those named in `fields`)."""

Value = float | int | str | bool | None
_Field = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class DataAnalysisParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    data: list[dict[str, Value]] | None = None
    """Records: objects of numbers and strings. Either this or `path`."""
    path: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)] | None = None
    """A CSV file with a header row, inside AMAS_CODE_SCOPE."""
    fields: Annotated[list[_Field], msgspec.Meta(min_length=1, max_length=MAX_FIELDS)] | None = None
    """The fields to analyse; default: every field that holds numbers."""
    method: Literal["zscore", "iqr"] = "iqr"
    threshold: Annotated[float, msgspec.Meta(gt=0, le=1000)] | None = None
    """zscore: |z| above it (default 3); iqr: beyond q1 - t*IQR or q3 + t*IQR (default 1.5)."""
    delimiter: Annotated[str, msgspec.Meta(min_length=1, max_length=1)] = ","
    max_rows: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 1_000_000
    """Also at most 20 million cells (rows x fields analysed); `truncated` says so."""
    max_anomalies: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 100
    """Per field, the most extreme first; `anomalies_total` counts them all."""


class Anomaly(msgspec.Struct, frozen=True, kw_only=True):
    row: int
    """0-based index of the record (or of the CSV row after the header)."""
    value: float | str
    score: float | None
    """The z-score, or for iqr how many IQRs beyond the nearer quartile; None for a value
    that is not a number."""
    reason: str


class FieldStats(msgspec.Struct, frozen=True, kw_only=True):
    count: int
    missing: int
    """Empty, null, NA, N/A, NaN, None."""
    mean: float
    median: float
    stdev: float | None
    """Sample standard deviation; None below two values."""
    min: float
    max: float
    q1: float
    q3: float
    anomalies: list[Anomaly]
    anomalies_total: int


class DataAnalysisResult(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    """'data', or the CSV file's path."""
    rows: int
    truncated: bool
    """More rows than max_rows: the first max_rows were analysed."""
    method: str
    threshold: float
    fields: dict[str, FieldStats]
    non_numeric_fields: list[str]
    """Fields where fewer than half the present values are numbers."""
    fields_not_analyzed: list[str]
    """Columns beyond the first MAX_FIELDS."""
