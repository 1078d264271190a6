"""Records or a CSV file as numeric columns, one pass, bounded in rows and in memory.

A column keeps one float per row (8 bytes; NaN where the row has no number), so a row's
index is its position, and at most `keep` of the values that are not numbers.
"""

from __future__ import annotations

import csv
import io
import math
import string
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actors.agents.skills.data_analysis.params import MAX_FIELDS
from actors.agents.skills.paths import open_regular
from actors.errors import InvalidParameter

MAX_CELLS = 20_000_000
"""Rows times analysed fields, at most: 160 MB of columns. Fewer rows are read past it."""
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none"})
LARGEST = 1e150
"""Beyond this a value is refused as a number: squares and sums of it would overflow."""
_REPORT_EVERY = 65_536
_WORD_START = frozenset(string.ascii_letters) - frozenset("nNiI")
_NAN = math.nan

Report = Callable[[int, str], None]


@dataclass
class Column:
    keep: int
    values: array[float] = field(default_factory=lambda: array("d"))
    numbers: int = 0
    missing: int = 0
    not_numbers: int = 0
    not_number_sample: list[tuple[int, str]] = field(default_factory=list)

    def add(self, row: int, value: Any) -> None:
        number = _number(value)
        if isinstance(number, float):
            self.numbers += 1
            self.values.append(number)
        else:
            self.add_text(row, number)

    def add_text(self, row: int, text: str | None) -> None:
        """A value that float() refused (or None): missing, or not a number."""
        self.values.append(_NAN)
        if text is None or text.strip().lower() in MISSING:
            self.missing += 1
            return
        self.not_numbers += 1
        if len(self.not_number_sample) < self.keep:
            self.not_number_sample.append((row, text))


@dataclass
class Table:
    columns: dict[str, Column]
    rows: int
    truncated: bool
    not_analyzed: list[str]


def missing_fields(names: Iterable[str], wanted: Sequence[str] | None) -> list[str]:
    present = set(names)
    return [name for name in wanted or () if name not in present]


def record_fields(data: Iterable[dict[str, Any]]) -> list[str]:
    """Every key of the records, in order of first appearance."""
    return list(dict.fromkeys(key for record in data for key in record))


def from_records(
    data: list[dict[str, Any]], wanted: Sequence[str] | None, limit: int, keep: int, report: Report
) -> Table:
    names, not_analyzed = _chosen(record_fields(data[:limit]), wanted)
    limit = _row_limit(limit, names)
    columns = {name: Column(keep) for name in names}
    rows = min(len(data), limit)
    for row in range(rows):
        record = data[row]
        for name, column in columns.items():
            column.add(row, record.get(name))
        if row % _REPORT_EVERY == 0:
            report(row * 90 // rows, f"read {row} of {rows} records")
    return Table(columns, rows, len(data) > limit, not_analyzed)


def from_csv(
    path: Path,
    wanted: Sequence[str] | None,
    delimiter: str,
    limit: int,
    keep: int,
    report: Report,
) -> Table:
    with open_regular(path) as raw:
        size = max(raw.seek(0, io.SEEK_END), 1)
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader, [])
            names, not_analyzed = _chosen(header, wanted)
            limit = _row_limit(limit, names)
            indices = [(header.index(name), Column(keep)) for name in names]
            rows, truncated = _read_rows(
                reader, indices, limit, lambda: raw.tell() * 90 // size, report
            )
        except csv.Error as e:
            raise InvalidParameter("path", f"not a CSV file we can read: {e}") from None
    return Table(
        {name: column for name, (_, column) in zip(names, indices, strict=True)},
        rows,
        truncated,
        not_analyzed,
    )


def _read_rows(
    reader: Iterator[list[str]],
    indices: list[tuple[int, Column]],
    limit: int,
    percent: Callable[[], int],
    report: Report,
) -> tuple[int, bool]:
    """(rows read, whether more were left)."""
    # Inline, for a million rows: a number is parsed and stored here, and a word that
    # float() cannot take (it starts with a letter other than those of nan and inf) is not
    # even tried, since raising and catching ValueError is what text cells cost most.
    fast = [(index, column, column.values.append) for index, column in indices]
    row = 0
    for cells in reader:
        if row == limit:
            return row, True
        width = len(cells)
        for index, column, append in fast:
            cell = cells[index] if index < width else ""
            if cell[:1] in _WORD_START:
                column.add_text(row, cell)
                continue
            try:
                number = float(cell)
            except ValueError:
                column.add_text(row, cell)
                continue
            if -LARGEST <= number <= LARGEST:  # also False for NaN
                append(number)
                column.numbers += 1
            else:
                column.add(row, cell)
        row += 1
        if row % _REPORT_EVERY == 0:
            report(percent(), f"read {row} rows")
    return row, False


def _row_limit(limit: int, names: list[str]) -> int:
    return max(1, min(limit, MAX_CELLS // max(len(names), 1)))


def _chosen(names: list[str], wanted: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(the fields to analyse, the columns left out beyond MAX_FIELDS)."""
    if wanted is not None:
        absent = missing_fields(names, wanted)
        if absent:
            raise InvalidParameter("fields", f"no such field: {', '.join(map(repr, absent))}")
        return list(dict.fromkeys(wanted)), []
    unique = list(dict.fromkeys(names))
    return unique[:MAX_FIELDS], unique[MAX_FIELDS:]


def _number(value: Any) -> float | str | None:
    """A finite float, or for Column.add_text: None, or the value as text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        if value != value:  # NaN: how pandas writes a missing value
            return None
        return float(value) if -LARGEST <= value <= LARGEST else str(value)
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        return text
    if number != number:
        return None
    return number if -LARGEST <= number <= LARGEST else text
