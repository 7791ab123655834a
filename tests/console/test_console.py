"""The operator console in a real browser against a real gunicorn, with real faces: sign in,
enrol, train, see tracks arrive live (one card per track, updated in place), search by photo, name a group of unknown faces,
delete a person. Screenshots of each page are taken on the way (conftest.py says where)."""

from __future__ import annotations

import requests
from PIL import Image
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.api.conftest import ADMIN_KEY, RECOGNIZE_KEY
from tests.api.servers import Gunicorn
from tests.conftest import FACES, people_images
from tests.console.conftest import PHONE, REVIEW_KEY, new_browser, server_env, set_viewport

PEOPLE = people_images()
AI = sorted((FACES / "lfw" / "enrolled" / "Ai_Sugiyama").glob("*.jpg"))


def wait(browser, condition, seconds: float = 30.0):
    """Until `condition()` is truthy; a page re-rendered under a check just means "check again"."""
    waiting = WebDriverWait(
        browser, seconds, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,)
    )
    return waiting.until(lambda _: condition())


def css(browser, selector: str):
    return browser.find_elements(By.CSS_SELECTOR, selector)


def text(browser, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def go(browser, view: str) -> None:
    browser.execute_script("location.hash = arguments[0]", view)


def store(server: Gunicorn, photo, camera: str, location: str = "hall", **fields) -> dict:
    """What the edge daemon sends for each face it sees."""
    with open(photo, "rb") as image:
        answer = requests.post(
            f"{server.url}/face-recognition/store-results",
            files={"image": image},
            data={"camera_id": camera, "location_id": location, **fields},
            headers={"X-API-Key": RECOGNIZE_KEY},
            timeout=60,
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


def faces_loaded(browser, selector: str) -> bool:
    """Every face in `selector` has its blob: image (fetched with the key) or none is kept."""
    images = css(browser, f"{selector} img.face")
    return bool(images) and all(
        browser.execute_script(
            "return arguments[0].classList.contains('missing') || "
            "(arguments[0].complete && arguments[0].naturalWidth > 0)",
            image,
        )
        for image in images
    )


def sign_in(browser, server: Gunicorn, key: str) -> None:
    browser.get(server.url + "/")
    field = wait(
        browser,
        lambda: (
            browser.find_element(By.ID, "api-key").is_displayed()
            and browser.find_element(By.ID, "api-key")
        ),
    )
    field.clear()
    field.send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "#signin-form button").click()


def test_an_operator_enrols_trains_watches_searches_and_names(browser, server, shots, tmp_path):
    # Sign-in: a wrong key is refused with a message; the admin key opens the console.
    sign_in(browser, server, "not-a-key-" + "x" * 20)
    wait(browser, lambda: "not valid" in text(browser, "signin-error"))
    browser.save_screenshot(str(shots / "console-signin.png"))
    sign_in(browser, server, ADMIN_KEY)
    wait(browser, lambda: browser.find_element(By.ID, "app").is_displayed())
    assert text(browser, "scope") == "admin key"
    assert not browser.find_element(By.ID, "auth-banner").is_displayed()
    assert browser.execute_script("return sessionStorage.getItem('facerec.apiKey')") == ADMIN_KEY

    # People: enrol two people by uploading several photos at once; a photo without a face is
    # refused with the API's reason.
    blank = tmp_path / "wall.png"
    Image.new("RGB", (320, 240), (180, 180, 170)).save(blank)
    go(browser, "#people")
    for person, photos in (("obama", PEOPLE["obama"][:4] + [blank]), ("biden", PEOPLE["biden"])):
        browser.find_element(By.ID, "enrol-id").clear()
        browser.find_element(By.ID, "enrol-id").send_keys(person)
        browser.find_element(By.ID, "enrol-files").send_keys("\n".join(str(p) for p in photos))
        browser.find_element(By.CSS_SELECTOR, "#enrol-form button[type=submit]").click()
        wait(browser, lambda person=person: css(browser, f'[data-person="{person}"]'), 120)
        rows = {
            r.find_element(By.CSS_SELECTOR, ".file").text: r
            for r in css(browser, "#enrol-results li")
        }
        assert sorted(rows) == sorted(p.name for p in photos)
        for photo in photos:
            row = rows[photo.name]
            if photo == blank:
                assert row.get_attribute("class") == "refused" and "(no_face)" in row.text
            else:
                assert row.get_attribute("class") == "accepted" and "accepted" in row.text
        if person == "obama":
            browser.save_screenshot(str(shots / "console-people.png"))
    assert "4 photos" in css(browser, '[data-person="obama"]')[0].text
    assert all("quality" in rows[p.name].text for p in PEOPLE["biden"])
    # Each enrolment photo's face quality is on the person's card, as the API lists it.
    wait(browser, lambda: len(css(browser, '[data-person="obama"] .quality')) == 4)
    listed = requests.get(f"{server.url}/dataset/obama/images", headers={"X-API-Key": ADMIN_KEY})
    shown = [q.text for q in css(browser, '[data-person="obama"] .quality')]
    assert shown == [f"{i['quality']:.2f}" for i in listed.json()["images"]]
    browser.save_screenshot(str(shots / "console-people-quality.png"))
    assert "2 photos" in css(browser, '[data-person="biden"]')[0].text

    # Model: train; the job's state is followed until it succeeds.
    go(browser, "#model")
    wait(browser, lambda: text(browser, "model-version") == "not trained yet")
    browser.find_element(By.ID, "train").click()
    wait(browser, lambda: css(browser, '#jobs [data-state="succeeded"]'), 180)
    wait(browser, lambda: text(browser, "model-version") != "not trained yet")
    assert "obama" in text(browser, "model-info") and "biden" in text(browser, "model-info")
    browser.save_screenshot(str(shots / "console-model.png"))

    # Live: the edge posts a crop without a track id, a track of its own; its card appears
    # without a reload, named, with its face, already ended.
    go(browser, "#live")
    wait(browser, lambda: text(browser, "live-status") == "live")
    before = len(css(browser, "#live-grid .track"))
    store(server, PEOPLE["obama"][4], camera="door", location="hall")
    wait(browser, lambda: len(css(browser, "#live-grid .track")) == before + 1, 20)
    card = css(browser, "#live-grid .track")[0]
    assert "obama" in card.text and "door" in card.text and "score" in card.text
    assert "decided from 1 frame" in card.text and "ended" in card.text
    wait(browser, lambda: faces_loaded(browser, "#live-grid .track:first-child"))
    store(server, PEOPLE["biden"][0], camera="gate", location="yard")
    wait(browser, lambda: css(browser, '#live-grid [data-camera="gate"]'), 20)
    select = browser.find_element(By.ID, "live-camera")
    select.find_element(By.CSS_SELECTOR, 'option[value="door"]').click()
    wait(browser, lambda: not css(browser, '#live-grid [data-camera="gate"]'))
    assert css(browser, '#live-grid [data-camera="door"]')
    select.find_element(By.CSS_SELECTOR, 'option[value=""]').click()
    wait(browser, lambda: css(browser, '#live-grid [data-camera="gate"]'))

    # Search: a photo of Obama finds his sighting at the door.
    go(browser, "#search")
    browser.find_element(By.ID, "search-file").send_keys(str(PEOPLE["obama"][0]))
    browser.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
    wait(browser, lambda: css(browser, "#search-timeline .event"), 60)
    found = css(browser, "#search-timeline .event")
    assert len(found) == 1 and "camera door" in found[0].text and "location hall" in found[0].text
    wait(browser, lambda: faces_loaded(browser, "#search-timeline"))
    browser.save_screenshot(str(shots / "console-search.png"))

    # A person's page: last known location and timeline.
    go(browser, "#person/obama")
    wait(browser, lambda: "camera door" in text(browser, "person-location"))
    assert "location hall" in text(browser, "person-location")
    assert len(css(browser, "#person-timeline .event")) == 1
    browser.save_screenshot(str(shots / "console-person.png"))

    # Unknowns: a stranger seen four times becomes a group; the operator names it.
    for index, photo in enumerate(AI[:4]):
        store(server, photo, camera=f"cam-{index % 2}")
    go(browser, "#unknowns")

    def grouped():
        browser.execute_async_script("showUnknowns().then(arguments[0])")
        return any("4 sightings" in g.text for g in css(browser, ".group"))

    wait(browser, grouped, 30)
    group = next(g for g in css(browser, ".group") if "4 sightings" in g.text)
    group.find_element(By.CSS_SELECTOR, "button.link").click()
    wait(browser, lambda: len(group.find_elements(By.CSS_SELECTOR, ".strip img")) == 4)
    wait(browser, lambda: faces_loaded(browser, ".group"))
    browser.save_screenshot(str(shots / "console-unknowns.png"))
    group.find_element(By.CSS_SELECTOR, ".name-group input").send_keys("ai_sugiyama")
    group.find_element(By.CSS_SELECTOR, ".name-group button").click()
    wait(
        browser,
        lambda: "ai_sugiyama: 4 faces enrolled, 4 sightings named" in text(browser, "flash"),
    )
    wait(browser, lambda: not any("4 sightings" in g.text for g in css(browser, ".group")))
    people = requests.get(f"{server.url}/dataset", headers={"X-API-Key": ADMIN_KEY}, timeout=10)
    assert {"id_name": "ai_sugiyama", "number_of_images": 4} in people.json()["face_ids"]

    # Live at a phone's width.
    go(browser, "#live")
    set_viewport(browser, PHONE, mobile=True)
    wait(browser, lambda: faces_loaded(browser, "#live-grid .track:first-child"))
    wide = browser.execute_script(
        "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391).slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))"
    )
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0], wide
    browser.save_screenshot(str(shots / "console-live-phone.png"))
    set_viewport(browser, (1366, 768))
    wait(browser, lambda: faces_loaded(browser, "#live-grid"))
    browser.save_screenshot(str(shots / "console-live.png"))

    # Delete a person, after confirming.
    go(browser, "#people")
    # The list first shown is the last visit's, replaced when /dataset answers: wait for the new
    # one (it has ai_sugiyama), or the click can land on a card being replaced.
    wait(browser, lambda: css(browser, '[data-person="ai_sugiyama"]'))
    css(browser, '[data-person="biden"] button')[0].click()
    dialog = browser.find_element(By.ID, "confirm")
    wait(browser, dialog.is_displayed)
    assert "Delete biden" in dialog.text
    browser.find_element(By.ID, "confirm-ok").click()
    wait(browser, lambda: not css(browser, '[data-person="biden"]'))
    people = requests.get(f"{server.url}/dataset", headers={"X-API-Key": ADMIN_KEY}, timeout=10)
    assert "biden" not in {p["id_name"] for p in people.json()["face_ids"]}


def test_a_review_key_sees_but_cannot_change(browser, server):
    browser.execute_script("sessionStorage.clear()")
    sign_in(browser, server, REVIEW_KEY)
    wait(browser, lambda: text(browser, "scope") == "review key")
    go(browser, "#people")
    wait(browser, lambda: css(browser, "[data-person]"))
    assert not browser.find_element(By.ID, "enrol-form").is_displayed()
    assert not any(b.is_displayed() for b in css(browser, "[data-person] button"))
    go(browser, "#model")
    wait(browser, lambda: "admin key is needed" in text(browser, "model-info"))
    assert not browser.find_element(By.ID, "train").is_displayed()


def test_with_auth_off_it_opens_without_a_key_and_says_so(tmp_path, shots):
    with Gunicorn(server_env(tmp_path, FACEREC_AUTH="off"), tmp_path / "open.log") as open_server:
        config = requests.get(f"{open_server.url}/console/config", timeout=10)
        assert config.json() == {"auth": False}
        spec = requests.get(f"{open_server.url}/swagger.json", timeout=10).json()
        assert "/console/config" in spec["paths"]
        page = requests.get(open_server.url + "/", timeout=10)
        assert page.headers["Content-Type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        browser = new_browser()
        try:
            browser.get(open_server.url + "/")
            wait(browser, lambda: browser.find_element(By.ID, "app").is_displayed())
            banner = browser.find_element(By.ID, "auth-banner")
            assert banner.is_displayed() and "Authentication is off" in banner.text
            assert not browser.find_element(By.ID, "signin").is_displayed()
            assert text(browser, "live-status") in ("live", "connecting…")
            browser.save_screenshot(str(shots / "console-auth-off.png"))
        finally:
            browser.quit()


def ensure_trained(server: Gunicorn) -> None:
    """Obama enrolled and a model trained (the first test does it; alone, this does)."""
    admin = {"X-API-Key": ADMIN_KEY}
    if requests.get(f"{server.url}/model", headers=admin, timeout=10).json()["model_version"]:
        return
    requests.post(f"{server.url}/dataset/obama", headers=admin, timeout=10)
    for path in PEOPLE["obama"][:2]:
        with open(path, "rb") as photo:
            requests.post(
                f"{server.url}/dataset/obama/image", files={"image": photo}, headers=admin
            )
    job = requests.post(f"{server.url}/model/train?wait=true", headers=admin, timeout=300).json()
    assert job["state"] == "succeeded", job


def cards(browser, camera: str):
    return css(browser, f'#live-grid .track[data-camera="{camera}"]')


def test_live_shows_one_card_per_track_updated_in_place(browser, server, shots):
    """Crops of two people walking past one camera: two cards, however many crops; a card
    turns from unknown to named as its evidence grows, without being replaced or moved."""
    ensure_trained(server)
    browser.get(server.url + "/console/config")
    browser.execute_script("sessionStorage.clear()")
    sign_in(browser, server, ADMIN_KEY)
    wait(browser, lambda: browser.find_element(By.ID, "app").is_displayed())
    go(browser, "#live")
    wait(browser, lambda: text(browser, "live-status") == "live")
    camera = "lobby"
    walk, other = "walk-a", "walk-b"
    # The first crop of each: a stranger-looking face for walk-a, a stranger for walk-b.
    store(server, PEOPLE["kit_harington"][0], camera, track_id=walk)
    store(server, PEOPLE["rose_leslie"][0], camera, track_id=other)
    wait(browser, lambda: len(cards(browser, camera)) == 2, 20)
    card = css(browser, f'#live-grid .track[data-key="{camera}/{walk}"]')[0]
    assert "unknown" in card.text and "decided from 1 frame" in card.text and "live" in card.text
    position = [c.get_attribute("data-key") for c in cards(browser, camera)]
    # Four more of walk-a (Obama), one more of walk-b: still two cards; walk-a's is named.
    for path in PEOPLE["obama"][1:5]:
        store(server, path, camera, track_id=walk)
    store(server, PEOPLE["rose_leslie"][1], camera, track_id=other)
    wait(browser, lambda: card.get_attribute("data-label") == "obama", 20)
    assert len(cards(browser, camera)) == 2
    assert [c.get_attribute("data-key") for c in cards(browser, camera)] == position
    assert "obama" in card.text and "frames" in card.text  # the very element, updated
    # The edge ends walk-a: the card says so, with what finally decided it.
    ended = requests.post(
        f"{server.url}/tracks/{camera}/{walk}/end", headers={"X-API-Key": RECOGNIZE_KEY}, timeout=10
    ).json()
    wait(browser, lambda: "ended" in card.get_attribute("class"), 20)
    assert f"decided from {ended['faces']} frames" in card.text
    assert f"{ended['crops']} crops" in card.text and "≥" in card.text
    wait(browser, lambda: faces_loaded(browser, f'#live-grid .track[data-camera="{camera}"]'))
    assert len(cards(browser, camera)) == 2
    browser.save_screenshot(str(shots / "console-live-tracks.png"))
    # A reload lists the same two tracks from GET /tracks.
    browser.refresh()
    wait(browser, lambda: len(cards(browser, camera)) == 2, 20)
    reloaded = css(browser, f'#live-grid .track[data-key="{camera}/{walk}"]')[0]
    assert "obama" in reloaded.text and "ended" in reloaded.text


def test_enrolling_someone_a_second_time_asks_before_saving(browser, server, shots):
    """Obama's photo enrolled under a new id: the console shows who it looks like and saves it
    only when the operator says so."""
    ensure_trained(server)
    browser.get(server.url + "/console/config")
    browser.execute_script("sessionStorage.clear()")  # signed in by an earlier test, maybe
    sign_in(browser, server, ADMIN_KEY)
    wait(browser, lambda: browser.find_element(By.ID, "app").is_displayed())
    go(browser, "#people")
    dialog, row = browser.find_element(By.ID, "confirm"), "#enrol-results li"
    for answer in ("cancel", "ok"):
        browser.find_element(By.ID, "enrol-id").clear()
        browser.find_element(By.ID, "enrol-id").send_keys("obama_again")
        browser.find_element(By.ID, "enrol-files").send_keys(str(PEOPLE["obama"][0]))
        browser.find_element(By.CSS_SELECTOR, "#enrol-form button[type=submit]").click()
        wait(browser, dialog.is_displayed, 60)
        assert "looks like obama" in dialog.text and "Save anyway?" in dialog.text, dialog.text
        if answer == "cancel":
            browser.save_screenshot(str(shots / "console-look-alike.png"))
        browser.find_element(By.CSS_SELECTOR, f'#confirm button[value="{answer}"]').click()
        wait(
            browser,
            lambda: (
                css(browser, row) and "pending" not in css(browser, row)[0].get_attribute("class")
            ),
            60,
        )  # noqa: E501
        listed = requests.get(
            f"{server.url}/dataset/obama_again/images", headers={"X-API-Key": ADMIN_KEY}, timeout=10
        )
        if answer == "cancel":  # checked before anything is written: not even the person
            assert "not saved: looks like obama" in css(browser, row)[0].text
            assert listed.status_code == 404, listed.text
        else:
            images = listed.json()["images"]
            assert (
                "accepted" in css(browser, row)[0].text
                and "looks like obama" in css(browser, row)[0].text
            )
            assert len(images) == 1
    browser.save_screenshot(str(shots / "console-look-alike-saved.png"))
