"""The operator puts the grouper's work right from the console (real gunicorn, headless
chromium, real LFW faces): ticks two unknown groups and merges them, moves the faces that are
someone else into a group of their own, is asked "Save anyway?" before a group that looks like
someone enrolled is saved, and says two Live tracks are one person in one action."""

from __future__ import annotations

import requests
from selenium.webdriver.common.by import By

from tests.api.conftest import ADMIN_KEY
from tests.console.conftest import DESKTOP, PHONE, set_viewport
from tests.console.test_console import (
    AI,
    FACES,
    PEOPLE,
    css,
    faces_loaded,
    go,
    sign_in,
    store,
    text,
    wait,
)

AHMED = sorted((FACES / "lfw" / "enrolled" / "Ahmed_Chalabi").glob("*.jpg"))
LONE = sorted((FACES / "lfw" / "strangers").glob("*.jpg"))[0]
ADMIN = {"X-API-Key": ADMIN_KEY}


def _get(server, path: str):
    return requests.get(server.url + path, headers=ADMIN, timeout=10)


def _group_sizes(browser) -> list[int]:
    browser.execute_async_script("showUnknowns().then(arguments[0])")
    return sorted(int(g.get_attribute("data-size")) for g in css(browser, "#unknowns-list .group"))


def _group_card(browser, size: int):
    return next(
        g
        for g in css(browser, "#unknowns-list .group")
        if g.get_attribute("data-size") == str(size)
    )


def _tick(card) -> None:
    box = card.find_element(By.CSS_SELECTOR, ":scope > .pick")
    assert box.is_displayed()
    box.click()


def _card(browser, key: str):
    found = css(browser, f'#live-grid .track[data-key="{key}"]')
    return found[0] if found else None


def test_an_operator_merges_releases_and_assigns_many_at_once(browser, server, shots):
    requests.post(f"{server.url}/dataset/ai_sugiyama", headers=ADMIN, timeout=10)
    with open(AI[4], "rb") as photo:
        enrolled = requests.post(
            f"{server.url}/dataset/ai_sugiyama/image", files={"image": photo}, headers=ADMIN
        )
    assert enrolled.status_code in (200, 201), enrolled.text
    requests.post(f"{server.url}/dataset/biden", headers=ADMIN, timeout=10)
    for photo in AI[:3]:
        store(server, photo, "cam-1", track_id="stranger-1")
    for photo in AHMED[:2]:
        store(server, photo, "cam-2", track_id="stranger-2")
    store(server, LONE, "cam-1")

    browser.get(server.url + "/console/config")
    browser.execute_script("sessionStorage.clear()")
    sign_in(browser, server, ADMIN_KEY)
    wait(browser, lambda: browser.find_element(By.ID, "app").is_displayed())
    go(browser, "#unknowns")
    wait(browser, lambda: _group_sizes(browser) == [1, 2, 3])
    assert not browser.find_element(By.ID, "unknowns-bulk").is_displayed()

    # Tick two groups: the bar says so; Merge makes them one.
    _tick(_group_card(browser, 3))
    _tick(_group_card(browser, 2))
    wait(browser, lambda: text(browser, "unknowns-picked") == "2 groups selected")
    wait(browser, lambda: faces_loaded(browser, "#unknowns-list"))
    browser.save_screenshot(str(shots / "console-unknowns-merge.png"))
    set_viewport(browser, PHONE, mobile=True)  # the bar and the cards fit a phone's width
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    browser.save_screenshot(str(shots / "console-unknowns-merge-phone.png"))
    set_viewport(browser, DESKTOP)
    browser.find_element(By.ID, "unknowns-merge").click()
    wait(browser, lambda: "Merged 2 groups into one: 5 sightings" in text(browser, "flash"))
    wait(browser, lambda: _group_sizes(browser) == [1, 5])
    assert not browser.find_element(By.ID, "unknowns-bulk").is_displayed()

    # Two of its faces are someone else: tick them, move them out.
    merged = _group_card(browser, 5)
    merged.find_element(By.CSS_SELECTOR, "button.link").click()
    wait(browser, lambda: len(merged.find_elements(By.CSS_SELECTOR, ".strip img")) == 5)
    others = _get(server, "/recognitions?camera=cam-2").json()["recognitions"]
    for sighting in others:
        merged.find_element(By.CSS_SELECTOR, f'input[data-sighting="{sighting["id"]}"]').click()
    wait(browser, lambda: faces_loaded(browser, "#unknowns-list"))
    browser.save_screenshot(str(shots / "console-unknowns-release.png"))
    merged.find_element(By.CSS_SELECTOR, "button.release").click()
    wait(browser, lambda: "2 sightings (whole tracks) moved" in text(browser, "flash"))
    wait(browser, lambda: _group_sizes(browser) == [1, 2, 3])

    # Naming Ai's group: her face is enrolled already, so the console asks first, and "Cancel"
    # stores nothing.
    ai_group = _group_card(browser, 3)
    ai_group.find_element(By.CSS_SELECTOR, ".name-group input").send_keys("ai_again")
    ai_group.find_element(By.CSS_SELECTOR, ".name-group button").click()
    dialog = browser.find_element(By.ID, "confirm")
    wait(browser, dialog.is_displayed)
    assert "look like ai_sugiyama" in dialog.text and "Save anyway?" in dialog.text, dialog.text
    browser.save_screenshot(str(shots / "console-unknowns-look-alike.png"))
    browser.find_element(By.CSS_SELECTOR, '#confirm button[value="cancel"]').click()
    wait(browser, lambda: "Not saved" in text(browser, "flash"))
    assert _get(server, "/dataset/ai_again/images").status_code == 404
    assert _group_sizes(browser) == [1, 2, 3]

    # Live: two tracks of one man, ticked, are said to be biden at once.
    go(browser, "#live")
    wait(browser, lambda: text(browser, "live-status") == "live")
    store(server, PEOPLE["biden"][0], "gate", track_id="walk-a")
    store(server, PEOPLE["biden"][1], "gate", track_id="walk-b")
    wait(browser, lambda: _card(browser, "gate/walk-a") and _card(browser, "gate/walk-b"), 20)
    for key in ("gate/walk-a", "gate/walk-b"):
        _tick(_card(browser, key))
    wait(browser, lambda: text(browser, "live-picked") == "2 tracks selected")
    browser.find_element(By.ID, "live-bulk-who").send_keys("biden")
    wait(browser, lambda: faces_loaded(browser, "#live-grid"))
    browser.save_screenshot(str(shots / "console-live-bulk.png"))
    browser.find_element(By.CSS_SELECTOR, "#live-bulk button[type=submit]").click()
    wait(browser, lambda: "2 tracks are now biden" in text(browser, "flash"))
    for key in ("gate/walk-a", "gate/walk-b"):
        wait(browser, lambda key=key: _card(browser, key).get_attribute("data-label") == "biden")
    assert not browser.find_element(By.ID, "live-bulk").is_displayed()
    browser.save_screenshot(str(shots / "console-live-bulk-done.png"))
    history = _get(server, "/label-changes?person=biden").json()["changes"]
    assert sorted(c["track_id"] for c in history) == ["walk-a", "walk-b"]
