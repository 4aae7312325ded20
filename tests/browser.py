"""A real browser for the console's test: Debian's headless Chromium through chromedriver
(Selenium), with every host but 127.0.0.1 unresolvable, and a record of every request the page
made so a test can prove that none left loopback."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.services import unavailable

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_SECONDS = 30.0  # how long any one step may take before the test fails
LOOPBACK = "127.0.0.1"


def require_chromium() -> None:
    """Skip without Chromium and its driver (locally), fail when CI requires them."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        unavailable(
            "no Chromium: `DEBIAN_FRONTEND=noninteractive apt-get install -y chromium "
            "chromium-driver` (.ci/run does)"
        )


def chrome() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-proxy-server",
        # Nothing but loopback resolves: a page that needs another host fails to load it.
        f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {LOOPBACK}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class Page:
    """The console in the browser, driven as a person would (clicks and typing), reading
    GraphiQL's editors through CodeMirror."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver
        self.requested: list[str] = []

    def until(self, condition: Callable[[], Any], what: str) -> Any:
        return WebDriverWait(self.driver, WAIT_SECONDS).until(lambda _: condition(), what)

    def element(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def shown(self, css: str) -> bool:
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        return bool(found) and found[0].is_displayed()

    def sign_in(self, email: str, password: str) -> None:
        self.until(lambda: self.shown("#sign-in"), "the sign-in form")
        self.element("#sign-in-email").clear()
        self.element("#sign-in-email").send_keys(email)
        self.element("#sign-in-password").send_keys(password)
        self.element("#sign-in-submit").click()
        self.until(lambda: self.shown("#signed-in"), f"{email} signed in")

    def sign_out(self) -> None:
        self.element("#sign-out").click()
        self.until(lambda: self.shown("#sign-in"), "the sign-in form after signing out")

    def token(self) -> str | None:
        value: str | None = self.driver.execute_script(
            "return sessionStorage.getItem('hub-console:token')"
        )
        return value

    @staticmethod
    def _tab(name: str) -> str:
        return f"//button[contains(@class, 'graphiql-tab-button') and normalize-space()='{name}']"

    def open_tab(self, name: str) -> None:
        self.until(lambda: self.driver.find_elements(By.XPATH, self._tab(name)), f"the {name} tab")
        self.driver.find_element(By.XPATH, self._tab(name)).click()
        self.until(lambda: f" {name}" in self.editor(".graphiql-query-editor"), f"{name} open")

    def open_tab_and_run(self, name: str) -> None:
        """Switch to a tab and run it at once, in the moment before GraphiQL has read the
        tab's operation (it still holds the previous tab's name then), as a quick hand does."""
        self.until(lambda: self.driver.find_elements(By.XPATH, self._tab(name)), f"the {name} tab")
        self.driver.execute_async_script(
            "const [tab, done] = arguments;"
            "tab.click();"
            "setTimeout(() => { document.querySelector('.graphiql-execute-button').click(); done(); }, 0);",
            self.driver.find_element(By.XPATH, self._tab(name)),
        )
        self.until(lambda: f" {name}" in self.editor(".graphiql-query-editor"), f"{name} open")

    def stored_tabs(self) -> str:
        """GraphiQL's tabs as it keeps them (their queries and variables)."""
        value: str | None = self.driver.execute_script(
            "return sessionStorage.getItem('graphiql:tabState')"
        )
        return value or ""

    def new_tab(self, name: str, query: str) -> None:
        """A new tab holding `query`, whose operation is `name`. GraphiQL parses an edited
        query a moment later; the tab's title changing to the operation's name says it has."""
        self.element(".graphiql-tab-add").click()
        self.set_editor(".graphiql-query-editor", query)
        self.until(lambda: self.driver.find_elements(By.XPATH, self._tab(name)), f"{name} parsed")

    def editor(self, css: str) -> str:
        value: str = self.driver.execute_script(
            "const e = document.querySelector(arguments[0] + ' .CodeMirror');"
            "return e ? e.CodeMirror.getValue() : '';",
            css,
        )
        return value

    def set_editor(self, css: str, text: str) -> None:
        self.driver.execute_script(
            "document.querySelector(arguments[0] + ' .CodeMirror').CodeMirror.setValue(arguments[1])",
            css,
            text,
        )

    def set_variables(self, variables: dict[str, Any]) -> None:
        self.set_editor(".graphiql-editor-tool", json.dumps(variables))

    def run(self) -> None:
        self.element(".graphiql-execute-button").click()

    def response(self) -> str:
        return self.editor(".graphiql-response")

    def wait_response(self, text: str) -> str:
        self.until(lambda: text in self.response(), f"{text!r} in the response")
        return self.response()

    def requests(self) -> list[str]:
        """Every URL the page asked for (HTTP and WebSocket) since the last call."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                self.requested.append(message["params"]["request"]["url"])
            elif message["method"] == "Network.webSocketCreated":
                self.requested.append(message["params"]["url"])
        return self.requested

    def outside_requests(self) -> list[str]:
        return [
            url
            for url in self.requests()
            if urlsplit(url).scheme != "data" and urlsplit(url).hostname != LOOPBACK
        ]

    def csp_violations(self) -> list[str]:
        """What the browser refused under the page's Content-Security-Policy."""
        return [
            str(entry["message"])
            for entry in self.driver.get_log("browser")
            if "Content Security Policy" in str(entry["message"])
        ]

    def keep_evidence(self, directory: Path, name: str) -> Path:
        """A screenshot and the browser's console log, for a failure."""
        directory.mkdir(parents=True, exist_ok=True)
        screenshot = directory / f"{name}.png"
        self.driver.save_screenshot(str(screenshot))
        log = "\n".join(str(e) for e in self.driver.get_log("browser"))
        (directory / f"{name}.browser.log").write_text(log, encoding="utf-8")
        return screenshot


def failure_directory(request: pytest.FixtureRequest) -> Path:
    """Where a failing browser test leaves its screenshot: HUB_TEST_ARTIFACTS or the test's
    temporary directory."""
    import os

    configured = os.environ.get("HUB_TEST_ARTIFACTS")
    if configured:
        return Path(configured)
    path: Path = request.getfixturevalue("tmp_path")
    return path / "browser"
