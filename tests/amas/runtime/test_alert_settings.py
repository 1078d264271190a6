"""AMAS_ALERT_*: the alert monitor's thresholds from the environment, checked at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.alerts.facts import AlertSettings
from amas.runtime.settings import alerts_from_env


@pytest.fixture(autouse=True)
def no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./.env of the developer's


def test_unset_variables_give_the_defaults() -> None:
    assert alerts_from_env() == AlertSettings()


def test_each_variable_sets_its_threshold_and_0_turns_a_check_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "AMAS_ALERT_AGENT_ERRORS": "5",
        "AMAS_ALERT_AGENT_WINDOW": "120",
        "AMAS_ALERT_BACKLOG": "0",
        "AMAS_ALERT_DISK_FREE_MB": "2048.5",
        "AMAS_ALERT_POLL_EVERY": "2",
        "AMAS_ALERT_VERIFY_EVERY": "0",
        "AMAS_ALERT_VERIFY_FULL_EVERY": "3600",
    }.items():
        monkeypatch.setenv(name, value)

    assert alerts_from_env() == AlertSettings(
        agent_errors=5,
        agent_window=120.0,
        backlog=0,
        disk_free_mb=2048.5,
        poll_every=2.0,
        verify_every=0.0,
        verify_full_every=3600.0,
    )


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("AMAS_ALERT_BACKLOG", "many", "is not an integer"),
        ("AMAS_ALERT_AGENT_ERRORS", "2.5", "is not an integer"),
        ("AMAS_ALERT_DISK_FREE_MB", "lots", "is not a number"),
        ("AMAS_ALERT_VERIFY_EVERY", "-1", "must be at least 0"),
        ("AMAS_ALERT_POLL_EVERY", "0", "must be more than 0"),
    ],
)
def test_a_value_that_is_not_a_number_stops_the_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match=f"{name}=.*{says}"):
        alerts_from_env()
