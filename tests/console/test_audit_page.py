"""The console's Audit page in headless Chromium against a real gunicorn: an admin sees who read
a face, who was refused and who changed what, and filters by who; a review key has no Audit
page. A screenshot is taken (conftest.py says where)."""

from __future__ import annotations

import requests
from selenium.webdriver.common.by import By

from tests.api.conftest import ADMIN_KEY, RECOGNIZE_KEY
from tests.api.servers import Gunicorn
from tests.conftest import people_images
from tests.console.conftest import REVIEW_KEY, server_env
from tests.console.test_console import css, go, sign_in, store, text, wait

NAMED_KEYS = f"admin:ops-alice:{ADMIN_KEY},recognize:{RECOGNIZE_KEY},review:bob:{REVIEW_KEY}"


def _activity(server: Gunicorn) -> None:
    """A face read by bob, a key refused, a person enrolled by alice."""
    store(server, people_images()["obama"][0], "door")
    listing = requests.get(
        f"{server.url}/recognitions", headers={"X-API-Key": REVIEW_KEY}, timeout=30
    ).json()
    face_url = listing["recognitions"][0]["face_url"]
    face = requests.get(server.url + face_url, headers={"X-API-Key": REVIEW_KEY}, timeout=30)
    assert face.status_code == 200
    refused = requests.get(
        f"{server.url}/unknowns", headers={"X-API-Key": RECOGNIZE_KEY}, timeout=30
    )
    assert refused.status_code == 403
    made = requests.post(
        f"{server.url}/dataset/carol", headers={"X-API-Key": ADMIN_KEY}, timeout=30
    )
    assert made.status_code == 201


def test_an_admin_reads_the_audit_trail_and_filters_it(browser, tmp_path, shots):
    env = {**server_env(tmp_path), "FACEREC_API_KEYS": NAMED_KEYS}
    with Gunicorn(env, tmp_path / "gunicorn.log") as server:
        _activity(server)
        sign_in(browser, server, ADMIN_KEY)
        wait(browser, lambda: browser.find_element(By.ID, "app").is_displayed())
        go(browser, "audit")
        wait(browser, lambda: len(css(browser, "#audit-table tbody tr.audit-read")) >= 1)
        table = text(browser, "audit-table")
        assert "bob" in table and "GET /recognitions/{recognition_id}/face" in table
        assert "403 forbidden" in table and "person_id=carol" in table
        assert ADMIN_KEY not in table and REVIEW_KEY not in table
        assert "rows" in text(browser, "audit-summary")
        browser.save_screenshot(str(shots / "console-audit.png"))

        browser.find_element(By.ID, "audit-who").send_keys("bob")
        browser.find_element(By.CSS_SELECTOR, "#audit-form button").click()
        wait(browser, lambda: text(browser, "audit-summary").startswith("1 row"))
        (row,) = css(browser, "#audit-table tbody tr")
        assert "bob" in row.text and "read" in row.text

        browser.find_element(By.ID, "signout").click()
        sign_in(browser, server, REVIEW_KEY)
        wait(browser, lambda: browser.find_element(By.ID, "app").is_displayed())
        assert not css(browser, "#nav a[data-view=audit]")[0].is_displayed()
