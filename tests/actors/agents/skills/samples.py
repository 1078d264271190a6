"""Files with known facts in them, written by the tests that look for those facts."""

from __future__ import annotations

from pathlib import Path

from actors.agents.scope import CodeScope, NetworkScope, Scopes

PLANTED = {
    # rule id -> (file, line): every one of them must be found
    "B602": ("app/run.py", 9),  # subprocess.call(..., shell=True)
    "B307": ("app/run.py", 13),  # eval
    "B105": ("app/run.py", 5),  # hard-coded password
    "B506": ("app/run.py", 17),  # yaml.load without a safe loader
}
COMPLEX = ("app/tangled.py", "tangled", 14)
"""(file, function, cyclomatic complexity): rank C."""

RUN_PY = """\
import subprocess

import yaml

password = "hunter2-staging"


def run(command):
    return subprocess.call(command, shell=True)


def compute(expression):
    return eval(expression)


def load(text):
    return yaml.load(text)


def trusted(expression):
    return eval(expression)  # nosec B307
"""

TANGLED_PY = """\
def tangled(a, b, c, d):
    total = 0
    if a:
        total += 1
    if b:
        total += 2
    if c:
        total += 3
    if d:
        total += 4
    if a and b:
        total += 5
    if c or d:
        total += 6
    for i in range(a or 0):
        if i % 2:
            total += i
        elif i % 3:
            total -= i
    while total > 100:
        total //= 2
    return total
"""

TEST_PY = """\
def test_it():
    assert 1 + 1 == 2
"""


def scopes(folder: Path) -> Scopes:
    """The node's scopes with `folder` as the whole code scope."""
    return Scopes(NetworkScope.parse(None), CodeScope.parse(str(folder), folder))


def code_folder(root: Path) -> Path:
    """root/app (planted findings, a complex function), root/tests (an assert) and a file
    that does not parse."""
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "run.py").write_text(RUN_PY)
    (root / "app" / "tangled.py").write_text(TANGLED_PY)
    (root / "app" / "broken.py").write_text("def broken(:\n    pass\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_it.py").write_text(TEST_PY)
    return root


OUTLIER_ROWS = {7: 130.0, 64: -20.0, 133: 135.0}
"""Rows of `latency` far outside its spread (45-55), and not so far that one hides the
others from the z-score by inflating the standard deviation."""


def outlier_csv(path: Path, rows: int = 200) -> Path:
    """A CSV: `latency` (spread evenly over 45-55, OUTLIER_ROWS planted, row 90 empty),
    `requests` (integers, no outliers) and `host` (text)."""
    lines = ["host,latency,requests"]
    for row in range(rows):
        latency = OUTLIER_ROWS.get(row, 45 + row * 7919 % 101 / 10)
        cell = "" if row == 90 else str(latency)
        lines.append(f"host-{row % 7},{cell},{100 + row % 13}")
    path.write_text("\n".join(lines) + "\n")
    return path
