"""Headless Chromium driven by selenium, with what the console's tests ask of a page.

The browser can resolve no host but 127.0.0.1 (--host-resolver-rules) and runs none of
Chromium's own background traffic: a page that reached for a CDN would fail, and its
failure would show in the browser's console, which every test reads.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.conftest import ADMIN_KEY

T = TypeVar("T")
WAIT = 20.0

_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
)

_INLINE = """
const found = [];
for (const s of document.querySelectorAll("script")) {
  if (!s.src || s.textContent.trim()) found.push("inline <script>: " + s.textContent.slice(0, 80));
}
for (const el of document.querySelectorAll("*")) {
  for (const a of el.attributes) {
    if (a.name.startsWith("on")) found.push(`${el.localName}[${a.name}]`);
    if (/^\\s*javascript:/i.test(a.value)) found.push(`${el.localName}[${a.name}=javascript:]`);
    if (a.name === "style") found.push(`${el.localName}[style]`);
  }
}
return found;
"""


def find_chromium() -> tuple[str, str] | None:
    """(browser, chromedriver) on PATH, or None."""
    binary = next(
        (p for n in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(n))),
        None,
    )
    driver = shutil.which("chromedriver")
    return (binary, driver) if binary and driver else None


class Browser:
    def __init__(self, driver: webdriver.Chrome, root: str, shots: Path) -> None:
        self.driver = driver
        self.root = root
        self.shots = shots

    @classmethod
    @contextlib.contextmanager
    def start(cls, binary: str, chromedriver: str, root: str, shots: Path) -> Iterator[Browser]:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in _FLAGS:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(chromedriver))
        try:
            driver.set_script_timeout(WAIT)
            yield cls(driver, root, shots)
        finally:
            driver.quit()

    # -- finding and waiting ---------------------------------------------------------

    def css(self, selector: str) -> WebElement | None:
        found = self.driver.find_elements(By.CSS_SELECTOR, selector)
        return found[0] if found else None

    def all(self, selector: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def text(self, selector: str) -> str:
        """The text of the first match, or "" (read in the page: a view redraws often)."""
        found: str = self.js(
            "const el = document.querySelector(arguments[0]); return el ? el.innerText : ''",
            selector,
        )
        return found

    def attrs(self, selector: str, name: str) -> list[str]:
        """One attribute of every match, read in the page at one moment (a redraw between
        finding elements and reading them would leave stale references)."""
        found: list[str] = self.js(
            "const [selector, name] = arguments;"
            "return [...document.querySelectorAll(selector)]"
            ".map(el => name === 'innerText' ? el.innerText : el.getAttribute(name))",
            selector,
            name,
        )
        return found

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait(self, check: Callable[[], T], what: str, timeout: float = WAIT) -> T:
        """The first truthy value of `check()`, asked every 50 ms for `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = check()
            except StaleElementReferenceException:  # the view redrew under the check: ask again
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                self.shot(f"timeout-{what[:40].replace(' ', '-')}")
                raise AssertionError(f"not within {timeout:g} s: {what}")
            time.sleep(0.05)

    def element(self, selector: str, what: str | None = None) -> WebElement:
        return self.wait(lambda: self.css(selector), what or f"{selector} on the page")

    def click(self, selector: str) -> None:
        """Click the first match once it is there (found again if the view redraws it
        between finding and clicking)."""

        def clicked() -> bool:
            self.element(selector).click()
            return True

        self.wait(clicked, f"a click on {selector}")

    # -- pages -----------------------------------------------------------------------

    def load(self) -> None:
        """The console's page, fresh (a new document)."""
        self.driver.get(f"{self.root}/")
        self.element("#view")

    def go(self, hash_: str, ready: str) -> None:
        """Go to `#/...` within the page (no reload) and wait for `ready` (a selector)."""
        self.js("location.hash = arguments[0]", hash_)
        self.element(ready, f"{ready} on {hash_}")

    def sign_in(self, key: str) -> None:
        field = self.element("#api-key")
        field.clear()
        field.send_keys(key)
        self.click("#signin button[type=submit]")
        self.wait(lambda: self.css("#nav:not([hidden])") and self.text("#who"), "signed in")

    def settled(self) -> str:
        """Once the page has decided: "signin" (the form) or "console" (signed in)."""
        shown = self.wait(
            lambda: self.css("#signin") or self.css("#nav:not([hidden])"), "sign-in or console"
        )
        return "signin" if shown.get_attribute("id") == "signin" else "console"

    def signed_in(self, key: str = ADMIN_KEY) -> None:
        """The console, fresh, signed in (with `key` unless the tab already is)."""
        self.load()
        if self.settled() == "signin":
            self.sign_in(key)

    def sign_out(self) -> None:
        if self.settled() == "console":
            self.element("#signout").click()
        self.element("#signin", "the sign-in form")

    def visit(self, hash_: str, ready: str, shot: str) -> None:
        """Go to a page of the console, wait for `ready`, check that it holds nothing a
        strict CSP refuses, and keep a screenshot of it."""
        self.go(hash_, ready)
        assert self.inline_code() == []
        self.shot(shot)

    def type(self, selector: str, text: str) -> None:
        field = self.element(selector)
        field.clear()
        field.send_keys(text)

    def expect_errors(self, *statuses: int) -> None:
        """The console's errors are exactly the failed loads with these statuses (Chromium
        logs each refused request; the console shows the refusal on the page)."""
        errors = self.console_errors()
        assert len(errors) == len(statuses), errors
        for error, status in zip(errors, statuses, strict=True):
            assert f"status of {status}" in error, errors

    def expand(self, selector: str) -> None:
        """Open the <details> that holds `selector` (a form folded away) by its summary."""
        self.element(selector).find_element(By.XPATH, "ancestor::details/summary").click()

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def console_errors(self) -> list[str]:
        """The SEVERE lines of the browser's console since the last call."""
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def inline_code(self) -> list[str]:
        """Whatever on the page a strict CSP would refuse: inline scripts, on* handlers,
        javascript: URLs and style attributes (the console sets styles through CSSOM only)."""
        found: list[str] = self.js(_INLINE)
        return found

    def requests_to(self, fragment: str) -> list[str]:
        """The URLs this document fetched that contain `fragment` (Resource Timing)."""
        names: list[str] = self.js(
            "return performance.getEntriesByType('resource').map(e => e.name)"
            ".filter(n => n.includes(arguments[0]))",
            fragment,
        )
        return names
