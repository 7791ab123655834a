"""The operator corrects from the console (real gunicorn, headless chromium, a review key): a
Live card named wrongly gets "Not obama" and turns unknown, Undo names it again; the person's
page offers the same on each sighting."""

from __future__ import annotations

import requests
from selenium.webdriver.common.by import By

from tests.console.conftest import REVIEW_KEY
from tests.console.test_console import (
    PEOPLE,
    css,
    ensure_trained,
    go,
    sign_in,
    store,
    text,
    wait,
)


def card_of(browser, key: str):
    found = css(browser, f'#live-grid .track[data-key="{key}"]')
    return found[0] if found else None


def test_a_review_key_says_not_x_and_undoes_it_on_a_live_card(browser, server, shots):
    ensure_trained(server)
    browser.get(server.url + "/console/config")
    browser.execute_script("sessionStorage.clear()")
    sign_in(browser, server, REVIEW_KEY)
    wait(browser, lambda: text(browser, "scope") == "review key")
    go(browser, "#live")
    wait(browser, lambda: text(browser, "live-status") == "live")
    store(server, PEOPLE["obama"][3], "gate", track_id="look-alike")
    wait(browser, lambda: card_of(browser, "gate/look-alike") is not None, 20)
    wait(
        browser, lambda: card_of(browser, "gate/look-alike").get_attribute("data-label") == "obama"
    )
    card = card_of(browser, "gate/look-alike")
    button = card.find_element(By.CSS_SELECTOR, ".not-x")
    assert button.is_displayed() and button.text == "Not obama"
    browser.save_screenshot(str(shots / "console-live-corrections.png"))
    button.click()
    wait(
        browser,
        lambda: card_of(browser, "gate/look-alike").get_attribute("data-label") == "unknown",
    )
    assert "kept as negatives" in text(browser, "flash")
    browser.save_screenshot(str(shots / "console-live-not-x.png"))
    card_of(browser, "gate/look-alike").find_element(By.CSS_SELECTOR, ".undo").click()
    wait(
        browser, lambda: card_of(browser, "gate/look-alike").get_attribute("data-label") == "obama"
    )
    history = requests.get(
        f"{server.url}/tracks/gate/look-alike/label", headers={"X-API-Key": REVIEW_KEY}, timeout=10
    ).json()
    assert [c["kind"] for c in history["changes"]] == ["undo", "not"]
    assert history["changes"][1]["who"].startswith("review-")  # the unnamed key's derived name
    go(browser, "#person/obama")
    wait(browser, lambda: css(browser, "#person-timeline .correct .not-x"))
    assert all(b.text == "Not obama" for b in css(browser, "#person-timeline .not-x"))
    browser.save_screenshot(str(shots / "console-person-corrections.png"))
