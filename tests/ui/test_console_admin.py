"""The rest of the web console in headless Chromium against a real node over real HTTP.

A key generated (shown once), rotated and revoked; a provider's status and its test; a
self-improver's layers and an approval; an agent configured; the event log live and
verified; a webhook registered; what a read key is offered; every other page; and the
docs, loading from the node alone. After each test the browser's console holds no error
the test did not expect; screenshots go to the `shots` folder (tests/ui/conftest.py).
"""

from __future__ import annotations

import pytest

from tests.ui.support import submit

pytestmark = pytest.mark.usefixtures("clean_console")


def test_a_generated_key_is_shown_once_rotated_and_revoked(browser, served):
    browser.signed_in()
    browser.visit("#/settings/keys", "#new-key", "keys")
    browser.type("#new-key [name=name]", "made in the console")
    browser.click("#new-key input[name=scopes][value=write]")  # read only
    browser.click("#new-key button[type=submit]")
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

    browser.visit("#/tasks", "#task-list", "tasks-after-keys")
    browser.visit("#/settings/keys", f"tr[data-key-id='{key_id}']", "keys-again")
    assert browser.css("#secret-value") is None
    assert secret not in browser.driver.page_source
    assert secret not in browser.js("return JSON.stringify(sessionStorage) + document.cookie")

    browser.click(f"tr[data-key-id='{key_id}'] [data-action=rotate]")
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
    browser.click("#secret-stored")
    assert browser.css("#secret-value") is None
    browser.wait(
        lambda: browser.text(f"tr[data-key-id='{key_id}'] .rotated"), "the rotation listed"
    )

    revoke = f"tr[data-key-id='{key_id}'] [data-action=revoke]"
    browser.click(revoke)
    assert browser.text(revoke) == "Really revoke?"
    browser.click(revoke)
    browser.wait(
        lambda: browser.css(f"tr[data-key-id='{key_id}'] [data-status=revoked]"), "revoked"
    )
    browser.shot("keys-revoked")
    assert served.api.get("/tasks", headers=as_key).status_code == 401


def test_a_provider_shows_its_status_and_breaker_and_passes_its_test(browser, served):
    browser.signed_in()
    browser.visit("#/providers", "tr[data-provider-id=deepseek]", "providers")

    def cell(provider: str) -> list[str]:
        return browser.attrs(f"tr[data-provider-id={provider}] td", "innerText")

    assert cell("deepseek")[2:5] == ["active", "healthy", "closed"]
    assert cell("grok")[2] == "unconfigured"
    browser.click("[data-test=deepseek]")
    result = browser.wait(
        lambda: "success" in browser.text("#provider-test") and browser.text("#provider-test"),
        "the test's answer",
    )
    browser.shot("providers-tested")
    assert "deepseek: success" in result
    assert browser.attrs("#provider-test li", "data-check") == [
        "connectivity", "authentication", "model_access", "response_quality",
    ]  # fmt: skip

    browser.visit("#/providers/deepseek", "#provider-detail .cards", "provider-detail")
    assert "closed" in browser.text("#provider-detail .cards")


def test_a_self_improver_shows_its_layers_and_an_improvement_is_approved(browser, served):
    browser.signed_in()
    browser.visit("#/workflows", "#trigger-self-improver", "workflows")
    browser.expand("#trigger-self-improver")
    browser.type("#trigger-self-improver [name=repository]", str(served.repo.path))
    browser.type("#trigger-self-improver [name=ai_providers]", "grok")  # none answers: rules
    browser.click("#trigger-self-improver button[type=submit]")
    browser.wait(
        lambda: browser.js("return location.hash").startswith("#/workflows/self-improver-"),
        "its page",
    )
    browser.wait(
        lambda: browser.css("#workflow-header [data-status=completed]"), "the run's end", timeout=60
    )
    bars = browser.wait(
        lambda: (
            len(classes := browser.attrs("#workflow-timeline rect.bar", "class")) == 4 and classes
        ),
        "four layers on the timeline",
    )
    browser.element("#approve")
    browser.shot("workflow-self-improver")

    assert set(bars) == {"bar completed"}
    assert browser.all("#workflow-log tr")
    browser.click("#approve")
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
    browser.signed_in()
    browser.visit(hash_, ready, name)


def test_an_admin_changes_an_agents_configuration_and_sees_it_live(browser, served):
    browser.signed_in()
    browser.visit("#/agents/analysis-agent-2", "#agent-config", "agent-config")
    browser.type("#agent-config [name=max_concurrent_tasks]", "0")
    browser.click("#agent-config button[type=submit]")
    refused = browser.wait(
        lambda: browser.text("#agent-config [data-error-for=max_concurrent_tasks]"), "refused"
    )
    browser.type("#agent-config [name=max_concurrent_tasks]", "7")
    browser.click("#agent-config button[type=submit]")
    browser.wait(lambda: "Saved" in browser.text("#view"), "saved")
    browser.wait(lambda: "0 / 7" in browser.text("#agent-detail .cards"), "the new slot count")
    browser.shot("agent-configured")

    assert refused == "must be at least 1"
    configured = served.api.get("/agents/analysis-agent-2").json()["configuration"]
    assert configured["max_concurrent_tasks"] == 7


def test_the_event_log_follows_the_log_and_verifies_its_chain(browser, served):
    browser.signed_in()
    browser.visit("#/events?type=task.*", "#event-rows", "events-tasks")
    task_id = submit(served.api, "echo")
    browser.wait(
        lambda: (
            browser.css("#event-rows tr[data-type='task.completed']")
            and task_id in browser.text("#event-rows")
        ),
        "the task's events, live",
    )
    browser.click("#verify")
    verdict = browser.wait(
        lambda: "intact" in browser.text("#verify-result") and browser.text("#verify-result"),
        "the chain verified",
    )
    browser.shot("events-verified")

    assert verdict.startswith("ok:")
    assert {kind.split(".")[0] for kind in browser.attrs("#event-rows tr", "data-type")} == {"task"}


def test_a_webhook_registered_in_the_form_shows_its_secret_once(browser, served):
    browser.signed_in()
    browser.visit("#/settings/webhooks", "#new-webhook", "webhooks-form")
    browser.expand("#new-webhook")
    browser.type("#new-webhook [name=url]", "http://127.0.0.1:9/hook")
    browser.type("#new-webhook [name=events]", "task.completed, task.failed")
    browser.click("#new-webhook button[type=submit]")
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
    browser.visit("#/tasks", "#task-list", "tasks-read-key")

    assert browser.css("#submit-task") is None
    assert [a.text for a in browser.all("#nav a") if a.is_displayed()] == [
        "Tasks", "Agents", "Workflows", "AI providers", "Metrics", "Webhooks",
    ]  # fmt: skip
    browser.visit("#/settings/keys", "#view .notice", "keys-read-key")
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
