"""A real gunicorn and a headless Chromium (Debian's chromium + chromium-driver) driven by
selenium, for the operator console."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService

from tests.api.conftest import ADMIN_KEY, RECOGNIZE_KEY
from tests.api.servers import Gunicorn
from tests.conftest import ROOT

REVIEW_KEY = "review-" + "c" * 24
DESKTOP = (1366, 768)
PHONE = (390, 844)
# Where the screenshots go: the test's temporary folder, or docs/img when asked for
# (FACEREC_CONSOLE_SCREENSHOTS=docs/img .venv/bin/pytest tests/console).
SCREENSHOTS_ENV = "FACEREC_CONSOLE_SCREENSHOTS"


def server_env(tmp: Path, **extra: str) -> dict[str, str]:
    return {
        "FACEREC_MODEL_BUNDLE": str(ROOT / "models"),
        "FACEREC_MODEL_DIR": str(tmp / "model-store"),
        "FACEREC_DATABASE_URL": f"sqlite:///{tmp / 'facerec.db'}",
        "FACEREC_API_KEYS": f"admin:{ADMIN_KEY},recognize:{RECOGNIZE_KEY},review:{REVIEW_KEY}",
        "FACEREC_MODEL_POLL_SECONDS": "0.2",
        **extra,
    }


def _chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not browser or not Path(driver).exists():
        pytest.fail("no chromium/chromedriver: run scripts/install-system-deps.sh")
    return browser, driver


def set_viewport(driver, size: tuple[int, int], mobile: bool = False) -> None:
    """The exact CSS viewport (a headless window's size includes no chrome, but be exact)."""
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


def new_browser():
    browser, driver_path = _chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=DriverService(driver_path), options=options)
    set_viewport(driver, DESKTOP)
    return driver


@pytest.fixture(scope="module")
def browser():
    driver = new_browser()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("console")
    with Gunicorn(server_env(tmp), tmp / "gunicorn.log") as running:
        yield running


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    wanted = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
