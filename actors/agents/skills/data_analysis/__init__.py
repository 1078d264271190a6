"""`data_analysis`: per numeric field, count, mean, median, stdev, min, max, quartiles and
the values that stand out (z-score or IQR), over records given inline or a CSV file inside
AMAS_CODE_SCOPE.

It runs in a skill thread (threads.py): a million rows take seconds, not milliseconds.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import msgspec

from actors.agents.scope import Scopes
from actors.agents.skills import inputs
from actors.agents.skills.base import Context, Progress, Skill
from actors.agents.skills.data_analysis.params import DataAnalysisParams, DataAnalysisResult
from actors.agents.skills.data_analysis.stats import DEFAULT_THRESHOLD, describe
from actors.agents.skills.data_analysis.table import (
    Table,
    from_csv,
    from_records,
    missing_fields,
    record_fields,
)
from actors.agents.skills.paths import in_scope
from actors.agents.skills.threads import Reporter, in_thread
from actors.errors import InvalidParameter


def check_scope(params: DataAnalysisParams, scopes: Scopes) -> None:
    """One source, inside the scope; inline records must hold the fields asked for."""
    if params.data is None and params.path is None:
        raise InvalidParameter("data", "give `data` (a list of records) or `path` (a CSV file)")
    if params.data is not None and params.path is not None:
        raise InvalidParameter("path", "give either `data` or `path`, not both")
    if params.path is not None:
        in_scope(scopes.code, "path", params.path, "file")
    elif absent := missing_fields(record_fields(params.data or []), params.fields):
        raise InvalidParameter("fields", f"no such field: {', '.join(map(repr, absent))}")


async def data_analysis(
    params: DataAnalysisParams, progress: Progress, context: Context
) -> dict[str, Any]:
    result = await in_thread(partial(analyze, params, context.scopes), progress)
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]


def analyze(params: DataAnalysisParams, scopes: Scopes, report: Reporter) -> DataAnalysisResult:
    keep = params.max_anomalies
    table: Table
    if params.path is not None:
        path = in_scope(scopes.code, "path", params.path, "file")
        source = str(path)
        table = from_csv(path, params.fields, params.delimiter, params.max_rows, keep, report)
    else:
        source = "data"
        table = from_records(params.data or [], params.fields, params.max_rows, keep, report)
    threshold = params.threshold or DEFAULT_THRESHOLD[params.method]
    fields = {}
    non_numeric = []
    for name, column in table.columns.items():
        report(90, f"statistics of {name}")
        if column.numbers and column.numbers > column.not_numbers:
            fields[name] = describe(column, params.method, threshold, keep)
        else:
            non_numeric.append(name)
    return DataAnalysisResult(
        source=source,
        rows=table.rows,
        truncated=table.truncated,
        method=params.method,
        threshold=threshold,
        fields=fields,
        non_numeric_fields=non_numeric,
        fields_not_analyzed=table.not_analyzed,
    )


SKILL = Skill("data_analysis", DataAnalysisParams, data_analysis, check_scope, inputs.one_file)
