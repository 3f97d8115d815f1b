"""A real headless Chromium for the tests that look at the HTML report (Debian's `chromium` and
`chromium-driver`, driven by Selenium; `.ci/run` installs them).

`Browser.open` loads a file and returns what a reviewer's browser would have said about it:
the console's errors and every request the page made (from Chrome's DevTools performance log),
so a test can prove that the report is whole on its own.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,900")
REQUIRED = "RECONCILER_REQUIRE_BROWSER"  # set by .ci/run: there, a missing browser fails instead of skipping


def available() -> None:
    """Skip (or, in CI, fail) when the browser is not installed."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).exists()]
    if missing:
        message = f"{', '.join(missing)} not installed (Debian: apt-get install chromium chromium-driver)"
        if os.environ.get(REQUIRED):
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Visit:
    errors: list[str]  # console messages at SEVERE level
    requests: list[str]  # every URL the page asked for, the page itself included


class Browser:
    def __init__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        os.environ["SE_OFFLINE"] = "true"  # Selenium Manager never downloads a driver: ours is Debian's
        self.profile = tempfile.mkdtemp(prefix="reconciler-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*FLAGS, f"--user-data-dir={self.profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.set_page_load_timeout(30)
        self.driver.set_script_timeout(10)

    def open(self, path: Path) -> Visit:
        self.driver.get("about:blank")
        self.driver.get_log("browser"), self.driver.get_log("performance")  # forget the browser's own pages
        self.driver.get(path.resolve().as_uri())
        self.driver.execute_script("return document.readyState")
        errors = [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]
        requests = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                requests.append(message["params"]["request"]["url"])
        return Visit(errors, requests)

    def emulate(self, dark: bool = False, paper: bool = False) -> None:
        """Emulate the reader's dark colour scheme (or not), on a screen or on paper."""
        features = [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                    {"media": "print" if paper else "screen", "features": features})

    def screenshot(self, path: Path) -> None:
        """The whole page, not only the window."""
        self.driver.set_window_size(1280, 600)  # measured in a small window, the page is only as tall as it is
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1280, min(max(height, 600), 12000))
        self.driver.save_screenshot(str(path))

    def close(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)
