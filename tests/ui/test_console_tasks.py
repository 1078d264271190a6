"""The web console's tasks in headless Chromium against a real node over real HTTP.

Sign-in; a task submitted from the form (refused first by the schema, then by the node,
each beside its field) and followed to 100% without a reload or a poll; the list updating
by itself and narrowed by its filters; findings as a table and a report as escaped HTML.
After each test the browser's console holds no error the test did not expect, and each
page holds nothing a strict CSP would refuse; a screenshot of each page goes to the
`shots` folder (tests/ui/conftest.py).
"""

from __future__ import annotations

import socket
import time

import pytest
from selenium.webdriver.common.by import By

from tests.conftest import ADMIN_KEY
from tests.ui.support import submit, wait_task

pytestmark = pytest.mark.usefixtures("clean_console")

WAIT = 20.0
HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def test_a_wrong_key_is_refused_and_the_right_one_signs_in(browser, served):
    browser.load()
    browser.sign_out()
    browser.element("#api-key").send_keys("amas_nosuchkey_notasecret")
    browser.click("#signin button[type=submit]")
    refusal = browser.wait(lambda: browser.text("#signin-error"), "the refusal shown")
    browser.shot("signin-refused")
    browser.expect_errors(401)

    browser.sign_in(ADMIN_KEY)

    assert "key" in refusal.lower()
    assert "admin" in browser.text("#who")
    assert browser.js("return sessionStorage.getItem('amas.key')") == ADMIN_KEY
    assert browser.js("return document.cookie") == ""
    browser.wait(lambda: browser.css("#live[data-state=live]"), "the live feed open")
    browser.visit("#/tasks", "#task-list", "tasks")


def test_a_task_from_the_form_is_refused_per_field_then_followed_to_100_percent(browser, served):
    browser.signed_in()
    browser.visit("#/tasks", "#submit-task", "tasks-form")
    form = "#submit-task"
    posts_before = len(browser.requests_to("/api/v1/tasks"))
    browser.type(f"{form} [name=parameters]", '{"steps": 5,')
    browser.type(f"{form} [name=max_attempts]", "11")
    browser.click(f"{form} button[type=submit]")

    def error(field: str) -> str:
        return browser.text(f"{form} [data-error-for={field}]")

    browser.wait(lambda: error("task_type"), "the schema's refusal")
    assert error("task_type") == "is required"
    assert error("parameters").startswith("is not JSON")
    assert error("max_attempts") == "must be at most 10"
    assert len(browser.requests_to("/api/v1/tasks")) == posts_before  # nothing was sent
    browser.shot("tasks-form-refused-by-the-schema")

    browser.type(f"{form} [name=task_type]", "no-such-task")
    browser.type(f"{form} [name=parameters]", "{}")
    browser.type(f"{form} [name=max_attempts]", "3")
    browser.click(f"{form} button[type=submit]")
    browser.wait(
        lambda: "no agent runs" in error("task_type"), "the node's refusal, beside its field"
    )
    assert error("parameters") == "" and error("max_attempts") == ""
    browser.shot("tasks-form-refused-by-the-node")
    browser.expect_errors(400)

    browser.type(f"{form} [name=task_type]", "echo")
    browser.type(
        f"{form} [name=parameters]",
        '{"message": "from the console", "steps": 5, "delay": 2.5}',
    )
    browser.click(f"{form} button[type=submit]")
    task_id = browser.wait(
        lambda: (h := browser.js("return location.hash")).startswith("#/tasks/task-") and h[8:],
        "the task's page",
    )
    browser.element("#task-progress")
    browser.js("window.sameDocument = true")  # a reload would lose it
    seen = []
    deadline = time.monotonic() + WAIT
    progress = "const p = document.getElementById('task-progress'); return p ? p.value : -1"
    while (value := int(browser.js(progress))) < 100:
        if not seen or seen[-1] != value:
            seen.append(value)
            if len(seen) == 2:
                browser.shot("task-in-progress")
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)
    browser.element("#task-results .tabs")
    browser.shot("task-completed")

    assert browser.js("return window.sameDocument") is True
    assert len([v for v in seen if 0 < v < 100]) >= 2, seen  # it moved while we watched
    assert browser.attrs("#task-status [data-status]", "data-status")[:1] == ["completed"]
    assert browser.attrs("#task-agents progress", "value")[:1] == ["100"]
    reads = [u for u in browser.requests_to(f"/api/v1/tasks/{task_id}") if "/results" not in u]
    assert len(reads) == 1, reads  # read once; every change after came from the live feed
    browser.click("[data-tab='Raw JSON']")
    assert "from the console" in browser.text("pre.raw-json")


def test_the_task_list_shows_a_new_task_and_its_end_as_they_happen(browser, served):
    browser.signed_in()
    browser.visit("#/tasks", "#task-list .pager", "tasks-list")
    browser.js("window.sameDocument = true")

    task_id = submit(served.api, "echo", steps=2, delay=1)
    browser.element(f"tr[data-task-id='{task_id}']", "the new task in the list")
    browser.wait(
        lambda: browser.css(f"tr[data-task-id='{task_id}'] [data-status=completed]"),
        "its end in the list",
    )

    assert browser.js("return window.sameDocument") is True


def test_the_filters_narrow_the_task_list_and_stay_in_the_address(browser, served):
    critical = served.api.post("/tasks", json={"task_type": "echo", "priority": "critical"})
    assert critical.status_code == 201
    wait_task(served.api, critical.json()["task_id"])
    browser.signed_in()
    browser.visit("#/tasks", "#task-filters", "tasks-filters")
    browser.js(
        "const f = document.getElementById('task-filters');"
        "f.elements.priority.value = 'critical'; f.elements.task_type.value = 'echo';"
    )
    browser.click("#task-filters button[type=submit]")
    browser.wait(lambda: "priority=critical" in browser.js("return location.hash"), "the filter")
    browser.element("#task-list .pager")
    priorities = browser.wait(
        lambda: browser.attrs("#task-list tr[data-task-id] td:nth-child(4)", "innerText"),
        "the critical tasks",
    )
    assert set(priorities) == {"critical"}

    browser.js(
        "document.getElementById('task-filters').elements.from_date.value = '2099-01-01T00:00'"
    )
    browser.click("#task-filters button[type=submit]")
    browser.wait(lambda: "No task matches" in browser.text("#task-list"), "an empty list")
    shown = browser.js("return document.getElementById('task-filters').elements.from_date.value")

    assert "from_date=2099-01-01T" in browser.js("return decodeURIComponent(location.hash)")
    assert shown.startswith("2099-01-01T00:00")  # the local time it was given, read back
    browser.shot("tasks-filtered")


def test_findings_are_a_table_and_a_report_is_html_with_nothing_of_the_results_run(browser, served):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        scan = submit(
            served.api, "vulnerability_scanning", target="127.0.0.1", ports=[port], depth="basic"
        )
        wait_task(served.api, scan)
    echo = submit(served.api, "echo", message=HOSTILE)
    wait_task(served.api, echo)
    report = submit(
        served.api,
        "report_generation",
        task_ids=[scan, echo],
        format="html",
        title="Console <b>report</b>",
    )
    wait_task(served.api, report)
    browser.signed_in()

    browser.visit(
        f"#/tasks/{scan}",
        "#task-results table.findings, #task-results .findings table",
        "task-findings",
    )
    findings = browser.text("#task-results .findings")
    assert f"127.0.0.1:{port}" in findings and "open-port" in findings

    browser.visit(f"#/tasks/{report}", "#task-results .tabs", "task-report")
    browser.click("[data-tab=Report]")
    shown = browser.element(".report")
    browser.shot("task-report-html")

    assert "Console <b>report</b>" in shown.text  # the title, as text
    assert HOSTILE in shown.text  # quoted results, as text
    assert shown.find_elements(By.CSS_SELECTOR, "img, script, b, a, style, [src], [href]") == []
    assert shown.find_elements(By.CSS_SELECTOR, "table td")  # the scan's findings table
    assert browser.js("return typeof window.alert") == "function"  # no alert is open
