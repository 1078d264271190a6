"""data_analysis, called as the agent calls it: planted outliers are found by both methods,
the figures are the statistics module's, rows and anomalies are bounded."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest

from actors.agents.skills import SKILLS
from actors.errors import InvalidParameter, OutOfScope
from tests.actors.agents.skills.samples import OUTLIER_ROWS, outlier_csv, scopes

SKILL = SKILLS["data_analysis"]


async def no_progress(percent: int, message: str = "") -> None:
    pass


async def analyse(folder: Path, **parameters: Any) -> dict[str, Any]:
    return await SKILL(parameters, no_progress, scopes(folder))


@pytest.mark.parametrize("method", ["iqr", "zscore"])
async def test_planted_outliers_in_a_csv_are_all_found(tmp_path, method):
    path = outlier_csv(tmp_path / "latency.csv")

    result = await analyse(tmp_path, path=str(path), method=method)

    latency = result["fields"]["latency"]
    assert {a["row"]: a["value"] for a in latency["anomalies"]} == OUTLIER_ROWS
    assert latency["anomalies_total"] == len(OUTLIER_ROWS)
    assert [a["row"] for a in latency["anomalies"]] == [133, 7, 64]  # the farthest first
    assert result["fields"]["requests"]["anomalies"] == []
    assert result["non_numeric_fields"] == ["host"]
    assert (result["rows"], result["truncated"], result["method"]) == (200, False, method)
    assert result["threshold"] == {"iqr": 1.5, "zscore": 3.0}[method]
    assert result["source"] == str(path)


async def test_figures_are_those_of_the_statistics_module(tmp_path):
    path = outlier_csv(tmp_path / "latency.csv")
    values = [
        float(line.split(",")[1]) for line in path.read_text().splitlines()[1:] if ",," not in line
    ]

    latency = (await analyse(tmp_path, path=str(path)))["fields"]["latency"]

    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    assert latency["count"] == len(values) == 199
    assert latency["missing"] == 1
    assert latency["mean"] == pytest.approx(statistics.fmean(values))
    assert latency["median"] == statistics.median(values)
    assert latency["stdev"] == pytest.approx(statistics.stdev(values))
    assert (latency["min"], latency["max"]) == (min(values), max(values))
    assert (latency["q1"], latency["q3"]) == (q1, q3)


async def test_scores_and_reasons_say_how_far_out_a_value_is(tmp_path):
    data = [{"v": float(x)} for x in [10, 11, 12, 13, 14, 15, 16, 17, 18, 60]]

    iqr = (await analyse(tmp_path, data=data))["fields"]["v"]
    z = (await analyse(tmp_path, data=data, method="zscore", threshold=2))["fields"]["v"]

    [outlier] = iqr["anomalies"]
    assert outlier["row"] == 9 and outlier["value"] == 60.0
    assert outlier["score"] == pytest.approx((60 - iqr["q3"]) / (iqr["q3"] - iqr["q1"]), abs=1e-4)
    assert outlier["reason"].startswith("above q3 + 1.5*IQR")
    [outlier] = z["anomalies"]
    assert outlier["score"] == pytest.approx((60 - z["mean"]) / z["stdev"], abs=1e-4)
    assert "beyond ±2" in outlier["reason"]


async def test_records_with_missing_values_and_text_where_numbers_belong(tmp_path):
    data = [{"n": i % 5, "label": f"x{i}"} for i in range(40)]
    data[3]["n"] = None
    data[4]["n"] = "N/A"
    data[5]["n"] = "oops"
    data[6]["n"] = "12.5"  # a number written as text is a number
    del data[7]["n"]

    result = await analyse(tmp_path, data=data)

    n = result["fields"]["n"]
    assert (n["count"], n["missing"]) == (36, 3)
    assert {"row": 5, "value": "oops", "score": None, "reason": "not a number"} in n["anomalies"]
    assert any(a["row"] == 6 and a["value"] == 12.5 for a in n["anomalies"])
    assert result["non_numeric_fields"] == ["label"]


async def test_csv_cells_are_numbers_missing_or_not_numbers(tmp_path):
    cells = ["1", " 2 ", "3e0", "NaN", "", "n/a", "inf", "abc", "1e999", "4", "5", "6"]
    path = tmp_path / "cells.csv"
    path.write_text("v\n" + "\n".join(cells) + "\n")

    v = (await analyse(tmp_path, path=str(path)))["fields"]["v"]

    assert (v["count"], v["missing"], v["min"], v["max"]) == (6, 3, 1.0, 6.0)
    not_numbers = [(a["row"], a["value"]) for a in v["anomalies"] if a["score"] is None]
    assert not_numbers == [(6, "inf"), (7, "abc"), (8, "1e999")]


async def test_fields_chooses_what_is_analysed(tmp_path):
    path = outlier_csv(tmp_path / "latency.csv")

    result = await analyse(tmp_path, path=str(path), fields=["requests"])

    assert list(result["fields"]) == ["requests"]
    assert result["non_numeric_fields"] == []


async def test_rows_beyond_max_rows_are_left_out_and_that_is_said(tmp_path):
    path = outlier_csv(tmp_path / "latency.csv")

    result = await analyse(tmp_path, path=str(path), max_rows=100)

    assert (result["rows"], result["truncated"]) == (100, True)
    assert {a["row"] for a in result["fields"]["latency"]["anomalies"]} == {7, 64}


async def test_anomalies_are_bounded_but_all_counted(tmp_path):
    data = [{"v": 1.0}] * 100 + [{"v": float(1000 + i)} for i in range(20)]

    result = await analyse(tmp_path, data=data, max_anomalies=5)

    v = result["fields"]["v"]
    assert v["anomalies_total"] == 20
    assert [a["value"] for a in v["anomalies"]] == [1019.0, 1018.0, 1017.0, 1016.0, 1015.0]
    assert all(a["score"] is None and "IQR is 0" in a["reason"] for a in v["anomalies"])


async def test_a_constant_field_has_no_anomalies_and_no_spread(tmp_path):
    result = await analyse(tmp_path, data=[{"v": 3}] * 10, method="zscore")

    v = result["fields"]["v"]
    assert (v["stdev"], v["q1"], v["q3"], v["anomalies"]) == (0.0, 3.0, 3.0, [])


async def test_a_single_value_has_no_stdev(tmp_path):
    v = (await analyse(tmp_path, data=[{"v": 3}]))["fields"]["v"]

    assert (v["count"], v["stdev"], v["median"], v["q1"]) == (1, None, 3.0, 3.0)


async def test_an_unknown_field_of_a_csv_fails_the_task_naming_fields(tmp_path):
    path = outlier_csv(tmp_path / "latency.csv")

    with pytest.raises(InvalidParameter) as refused:
        await analyse(tmp_path, path=str(path), fields=["latency", "nope"])

    assert refused.value.name == "fields"
    assert "'nope'" in str(refused.value)


async def test_another_delimiter_is_read(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("a;b\n" + "".join(f"{i};{i * 2}\n" for i in range(20)) + "5;1000\n")

    result = await analyse(tmp_path, path=str(path), delimiter=";")

    assert [a["row"] for a in result["fields"]["b"]["anomalies"]] == [20]


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({}, "data"),
        ({"data": [{"a": 1}], "path": "{tmp}/d.csv"}, "path"),
        ({"data": {"a": 1}}, "data"),
        ({"data": [{"a": [1, 2]}]}, "data[0][...]"),
        ({"data": [{"a": 1}], "method": "mad"}, "method"),
        ({"data": [{"a": 1}], "threshold": 0}, "threshold"),
        ({"data": [{"a": 1}], "fields": []}, "fields"),
        ({"data": [{"a": 1}], "fields": ["b"]}, "fields"),
        ({"data": [{"a": 1}], "max_rows": 0}, "max_rows"),
        ({"data": [{"a": 1}], "delimiter": ";;"}, "delimiter"),
        ({"data": [{"a": 1}], "rows": 5}, "rows"),
        ({"path": "{tmp}/missing.csv"}, "path"),
        ({"path": "{tmp}"}, "path"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(tmp_path, parameters, named):
    (tmp_path / "d.csv").write_text("a\n1\n")
    parameters = {k: v.format(tmp=tmp_path) if k == "path" else v for k, v in parameters.items()}

    with pytest.raises(InvalidParameter) as refused:
        SKILL.validate(parameters, scopes(tmp_path))

    assert refused.value.name == named


@pytest.mark.parametrize("where", ["/etc/passwd", "{tmp}/scope/../data.csv", "{tmp}/scope/link"])
def test_a_csv_outside_the_scope_is_refused(tmp_path, where):
    (tmp_path / "scope").mkdir()
    outlier_csv(tmp_path / "data.csv")
    (tmp_path / "scope" / "link").symlink_to(tmp_path / "data.csv")

    with pytest.raises(OutOfScope) as refused:
        SKILL.validate({"path": where.format(tmp=tmp_path)}, scopes(tmp_path / "scope"))

    assert refused.value.name == "path"
