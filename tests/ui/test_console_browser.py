"""The web console in headless Chromium against a real node over real HTTP.

Sign-in; a task submitted from the form (refused first by the schema, then by the node,
each beside its field) and followed to 100% without a reload or a poll; the task list
updating by itself; findings as a table and a report as escaped HTML; a key generated
(shown once), rotated and revoked; a provider's status and its test; a self-improver's
layers and an approval; every other page. After each test the browser's console holds
no error the test did not expect, and each page holds nothing a strict CSP would refuse.
A screenshot of each page goes to the `shots` folder (see conftest.py).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.conftest import ADMIN_KEY
from tests.ui.browser import Browser

WAIT = 20.0
HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"


@pytest.fixture(autouse=True)
def no_console_errors(browser: Browser) -> Iterator[None]:
    browser.console_errors()  # what an earlier test left is that test's
    yield
    assert browser.console_errors() == []


def signed_in(browser: Browser, key: str = ADMIN_KEY) -> None:
    browser.load()
    if browser.settled() == "signin":
        browser.sign_in(key)


def visit(browser: Browser, hash_: str, ready: str, shot: str) -> None:
    """Go to a page within the console, wait for `ready`, check it, keep a screenshot."""
    browser.go(hash_, ready)
    assert browser.inline_code() == []
    browser.shot(shot)


def type_into(browser: Browser, selector: str, text: str) -> None:
    field = browser.element(selector)
    field.clear()
    field.send_keys(text)


def wait_task(api: httpx.Client, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while (task := api.get(f"/tasks/{task_id}").json())["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, task
        time.sleep(0.05)
    assert task["status"] == "completed", task
    return dict(task)


def submit(api: httpx.Client, task_type: str, **parameters: Any) -> str:
    response = api.post("/tasks", json={"task_type": task_type, "parameters": parameters})
    assert response.status_code == 201, response.text
    task_id: str = response.json()["task_id"]
    return task_id


def expected_errors(browser: Browser, *statuses: int) -> None:
    """The console's errors are exactly the failed loads with these statuses (Chromium logs
    each refused request; the console shows the refusal on the page)."""
    errors = browser.console_errors()
    assert len(errors) == len(statuses), errors
    for error, status in zip(errors, statuses, strict=True):
        assert f"status of {status}" in error, errors


def test_a_wrong_key_is_refused_and_the_right_one_signs_in(browser, served):
    browser.load()
    browser.sign_out()
    browser.element("#api-key").send_keys("amas_nosuchkey_notasecret")
    browser.element("#signin button[type=submit]").click()
    refusal = browser.wait(lambda: browser.text("#signin-error"), "the refusal shown")
    browser.shot("signin-refused")
    expected_errors(browser, 401)

    browser.sign_in(ADMIN_KEY)

    assert "key" in refusal.lower()
    assert "admin" in browser.text("#who")
    assert browser.js("return sessionStorage.getItem('amas.key')") == ADMIN_KEY
    assert browser.js("return document.cookie") == ""
    browser.wait(lambda: browser.css("#live[data-state=live]"), "the live feed open")
    visit(browser, "#/tasks", "#task-list", "tasks")


def test_a_task_from_the_form_is_refused_per_field_then_followed_to_100_percent(browser, served):
    signed_in(browser)
    visit(browser, "#/tasks", "#submit-task", "tasks-form")
    form = "#submit-task"
    posts_before = len(browser.requests_to("/api/v1/tasks"))
    type_into(browser, f"{form} [name=parameters]", '{"steps": 5,')
    type_into(browser, f"{form} [name=max_attempts]", "11")
    browser.element(f"{form} button[type=submit]").click()

    def error(field: str) -> str:
        return browser.text(f"{form} [data-error-for={field}]")

    browser.wait(lambda: error("task_type"), "the schema's refusal")
    assert error("task_type") == "is required"
    assert error("parameters").startswith("is not JSON")
    assert error("max_attempts") == "must be at most 10"
    assert len(browser.requests_to("/api/v1/tasks")) == posts_before  # nothing was sent
    browser.shot("tasks-form-refused-by-the-schema")

    type_into(browser, f"{form} [name=task_type]", "no-such-task")
    type_into(browser, f"{form} [name=parameters]", "{}")
    type_into(browser, f"{form} [name=max_attempts]", "3")
    browser.element(f"{form} button[type=submit]").click()
    browser.wait(
        lambda: "no agent runs" in error("task_type"), "the node's refusal, beside its field"
    )
    assert error("parameters") == "" and error("max_attempts") == ""
    browser.shot("tasks-form-refused-by-the-node")
    expected_errors(browser, 400)

    type_into(browser, f"{form} [name=task_type]", "echo")
    type_into(
        browser,
        f"{form} [name=parameters]",
        '{"message": "from the console", "steps": 5, "delay": 2.5}',
    )
    browser.element(f"{form} button[type=submit]").click()
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
    assert browser.css("#task-status [data-status]").get_attribute("data-status") == "completed"
    assert browser.css("#task-agents progress").get_attribute("value") == "100"
    reads = [u for u in browser.requests_to(f"/api/v1/tasks/{task_id}") if "/results" not in u]
    assert len(reads) == 1, reads  # read once; every change after came from the live feed
    browser.element("[data-tab='Raw JSON']").click()
    assert "from the console" in browser.text("pre.raw-json")


def test_the_task_list_shows_a_new_task_and_its_end_as_they_happen(browser, served):
    signed_in(browser)
    visit(browser, "#/tasks", "#task-list .pager", "tasks-list")
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
    signed_in(browser)
    visit(browser, "#/tasks", "#task-filters", "tasks-filters")
    browser.js(
        "const f = document.getElementById('task-filters');"
        "f.elements.priority.value = 'critical'; f.elements.task_type.value = 'echo';"
    )
    browser.element("#task-filters button[type=submit]").click()
    browser.wait(lambda: "priority=critical" in browser.js("return location.hash"), "the filter")
    browser.element("#task-list .pager")
    rows = browser.wait(lambda: browser.all("#task-list tr[data-task-id]"), "the critical tasks")
    assert [r.find_elements(By.CSS_SELECTOR, "td")[3].text for r in rows] == ["critical"] * len(
        rows
    )

    browser.js(
        "document.getElementById('task-filters').elements.from_date.value = '2099-01-01T00:00'"
    )
    browser.element("#task-filters button[type=submit]").click()
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
    signed_in(browser)

    visit(
        browser,
        f"#/tasks/{scan}",
        "#task-results table.findings, #task-results .findings table",
        "task-findings",
    )
    findings = browser.text("#task-results .findings")
    assert f"127.0.0.1:{port}" in findings and "open-port" in findings

    visit(browser, f"#/tasks/{report}", "#task-results .tabs", "task-report")
    browser.element("[data-tab=Report]").click()
    shown = browser.element(".report")
    browser.shot("task-report-html")

    assert "Console <b>report</b>" in shown.text  # the title, as text
    assert HOSTILE in shown.text  # quoted results, as text
    assert shown.find_elements(By.CSS_SELECTOR, "img, script, b, a, style, [src], [href]") == []
    assert shown.find_elements(By.CSS_SELECTOR, "table td")  # the scan's findings table
    assert browser.js("return typeof window.alert") == "function"  # no alert is open


def test_a_generated_key_is_shown_once_rotated_and_revoked(browser, served):
    signed_in(browser)
    visit(browser, "#/settings/keys", "#new-key", "keys")
    type_into(browser, "#new-key [name=name]", "made in the console")
    browser.element("#new-key input[name=scopes][value=write]").click()  # read only
    browser.element("#new-key button[type=submit]").click()
    secret = browser.wait(
        lambda: (
            browser.css("#secret-value") and browser.css("#secret-value").get_attribute("value")
        ),
        "the new key",
    )
    key_id = secret.split("_")[1]
    browser.element(f"tr[data-key-id='{key_id}']", "the key in the list")
    browser.shot("keys-shown-once")
    as_key = {"X-API-Key": secret}

    assert served.api.get("/tasks", headers=as_key).status_code == 200
    assert served.api.post("/tasks", json={"task_type": "echo"}, headers=as_key).status_code == 403
    assert browser.text(f"tr[data-key-id='{key_id}']").count("read") == 1

    visit(browser, "#/tasks", "#task-list", "tasks-after-keys")
    visit(browser, "#/settings/keys", f"tr[data-key-id='{key_id}']", "keys-again")
    assert browser.css("#secret-value") is None
    assert secret not in browser.driver.page_source
    assert secret not in browser.js("return JSON.stringify(sessionStorage) + document.cookie")

    browser.element(f"tr[data-key-id='{key_id}'] [data-action=rotate]").click()
    rotated = browser.wait(
        lambda: (
            browser.css("#secret-value") and browser.css("#secret-value").get_attribute("value")
        ),
        "the new secret",
    )
    assert rotated != secret and rotated.split("_")[1] == key_id
    assert served.api.get("/tasks", headers=as_key).status_code == 401
    as_key = {"X-API-Key": rotated}
    assert served.api.get("/tasks", headers=as_key).status_code == 200
    browser.element("#secret-stored").click()
    assert browser.css("#secret-value") is None
    browser.wait(
        lambda: browser.text(f"tr[data-key-id='{key_id}'] .rotated"), "the rotation listed"
    )

    revoke = f"tr[data-key-id='{key_id}'] [data-action=revoke]"
    browser.element(revoke).click()
    assert browser.text(revoke) == "Really revoke?"
    browser.element(revoke).click()
    browser.wait(
        lambda: browser.css(f"tr[data-key-id='{key_id}'] [data-status=revoked]"), "revoked"
    )
    browser.shot("keys-revoked")
    assert served.api.get("/tasks", headers=as_key).status_code == 401


def test_a_provider_shows_its_status_and_breaker_and_passes_its_test(browser, served):
    signed_in(browser)
    visit(browser, "#/providers", "tr[data-provider-id=deepseek]", "providers")

    def cell(provider: str) -> list[str]:
        row = browser.css(f"tr[data-provider-id={provider}]")
        return [td.text for td in row.find_elements(By.CSS_SELECTOR, "td")]

    assert cell("deepseek")[2:5] == ["active", "healthy", "closed"]
    assert cell("grok")[2] == "unconfigured"
    browser.element("[data-test=deepseek]").click()
    result = browser.wait(
        lambda: "success" in browser.text("#provider-test") and browser.text("#provider-test"),
        "the test's answer",
    )
    browser.shot("providers-tested")
    assert "deepseek: success" in result
    assert [li.get_attribute("data-check") for li in browser.all("#provider-test li")] == [
        "connectivity", "authentication", "model_access", "response_quality",
    ]  # fmt: skip

    visit(browser, "#/providers/deepseek", "#provider-detail .cards", "provider-detail")
    assert "closed" in browser.text("#provider-detail .cards")


def test_a_self_improver_shows_its_layers_and_an_improvement_is_approved(browser, served):
    signed_in(browser)
    visit(browser, "#/workflows", "#trigger-self-improver", "workflows")
    browser.expand("#trigger-self-improver")
    type_into(browser, "#trigger-self-improver [name=repository]", str(served.repo.path))
    type_into(browser, "#trigger-self-improver [name=ai_providers]", "grok")  # none answers: rules
    browser.element("#trigger-self-improver button[type=submit]").click()
    browser.wait(
        lambda: browser.js("return location.hash").startswith("#/workflows/self-improver-"),
        "its page",
    )
    browser.wait(
        lambda: browser.css("#workflow-header [data-status=completed]"), "the run's end", timeout=60
    )
    bars = browser.wait(
        lambda: (
            len(browser.all("#workflow-timeline rect.bar")) == 4
            and browser.all("#workflow-timeline rect.bar")
        ),
        "four layers on the timeline",
    )
    browser.element("#approve")
    browser.shot("workflow-self-improver")

    assert {bar.get_attribute("class") for bar in bars} == {"bar completed"}
    assert browser.all("#workflow-log tr")
    browser.element("#approve").click()
    browser.wait(lambda: "Applied" in browser.text("#workflow-approval"), "the approval")
    browser.shot("workflow-approved")


@pytest.mark.parametrize(
    ("hash_", "ready", "name"),
    [
        ("#/agents", "#agent-list tr[data-agent-id]", "agents"),
        ("#/agents/security-agent", "#agent-config", "agent-detail"),
        ("#/metrics", "#metrics-charts figure:nth-of-type(7) svg", "metrics"),
        ("#/events", "#event-rows tr", "events"),
        ("#/settings/webhooks", "#webhook-list", "webhooks"),
        ("#/workflows?status=completed", "#workflow-list", "workflows-completed"),
    ],
)
def test_each_page_renders_under_the_policy(browser, served, hash_, ready, name):
    signed_in(browser)
    visit(browser, hash_, ready, name)


def test_an_admin_changes_an_agents_configuration_and_sees_it_live(browser, served):
    signed_in(browser)
    visit(browser, "#/agents/analysis-agent-2", "#agent-config", "agent-config")
    type_into(browser, "#agent-config [name=max_concurrent_tasks]", "0")
    browser.element("#agent-config button[type=submit]").click()
    refused = browser.wait(
        lambda: browser.text("#agent-config [data-error-for=max_concurrent_tasks]"), "refused"
    )
    type_into(browser, "#agent-config [name=max_concurrent_tasks]", "7")
    browser.element("#agent-config button[type=submit]").click()
    browser.wait(lambda: "Saved" in browser.text("#view"), "saved")
    browser.wait(lambda: "0 / 7" in browser.text("#agent-detail .cards"), "the new slot count")
    browser.shot("agent-configured")

    assert refused == "must be at least 1"
    configured = served.api.get("/agents/analysis-agent-2").json()["configuration"]
    assert configured["max_concurrent_tasks"] == 7


def test_the_event_log_follows_the_log_and_verifies_its_chain(browser, served):
    signed_in(browser)
    visit(browser, "#/events?type=task.*", "#event-rows", "events-tasks")
    task_id = submit(served.api, "echo")
    browser.wait(
        lambda: (
            browser.css("#event-rows tr[data-type='task.completed']")
            and task_id in browser.text("#event-rows")
        ),
        "the task's events, live",
    )
    browser.element("#verify").click()
    verdict = browser.wait(
        lambda: "intact" in browser.text("#verify-result") and browser.text("#verify-result"),
        "the chain verified",
    )
    browser.shot("events-verified")

    assert verdict.startswith("ok:")
    assert {r.get_attribute("data-type").split(".")[0] for r in browser.all("#event-rows tr")} == {
        "task"
    }


def test_a_webhook_registered_in_the_form_shows_its_secret_once(browser, served):
    signed_in(browser)
    visit(browser, "#/settings/webhooks", "#new-webhook", "webhooks-form")
    browser.expand("#new-webhook")
    type_into(browser, "#new-webhook [name=url]", "http://127.0.0.1:9/hook")
    type_into(browser, "#new-webhook [name=events]", "task.completed, task.failed")
    browser.element("#new-webhook button[type=submit]").click()
    secret = browser.wait(
        lambda: (
            browser.css("#secret-value") and browser.css("#secret-value").get_attribute("value")
        ),
        "the signing secret",
    )
    browser.shot("webhooks-registered")

    assert secret.startswith("whsec_")
    hooks = served.api.get("/webhooks").json()["webhooks"]
    assert any(
        h["url"] == "http://127.0.0.1:9/hook" and h["events"] == ["task.completed", "task.failed"]
        for h in hooks
    )


def test_a_read_key_sees_no_admin_page_and_no_form(browser, served):
    made = served.api.post("/api-keys", json={"name": "reader", "scopes": ["read"], "tier": "pro"})
    browser.load()
    browser.sign_out()
    browser.sign_in(made.json()["api_key"])
    visit(browser, "#/tasks", "#task-list", "tasks-read-key")

    assert browser.css("#submit-task") is None
    assert [a.text for a in browser.all("#nav a") if a.is_displayed()] == [
        "Tasks", "Agents", "Workflows", "AI providers", "Metrics", "Webhooks",
    ]  # fmt: skip
    visit(browser, "#/settings/keys", "#view .notice", "keys-read-key")
    assert "admin" in browser.text("#view .notice")
    browser.sign_out()


@pytest.mark.parametrize(
    ("path", "ready"), [("/docs", "#swagger-ui .info .title"), ("/redoc", "h1")]
)
def test_the_docs_render_from_the_node_alone(browser, served, path, ready):
    browser.driver.get(f"{served.root}{path}")
    title = browser.wait(lambda: browser.css(ready) and browser.text(ready), f"{path} rendered")
    browser.shot(f"docs{path.replace('/', '-')}")

    assert "AMAS API" in title
    loaded = browser.js("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and [u for u in loaded if not u.startswith(f"{served.root}/")] == []
