"""Issue 22's acceptance on the Hamilton clip, through real processes: five people enrolled
(not Lin-Manuel Miranda, the singer), the real edge daemon over all 275 frames, a real gunicorn
on SQLite. The service keeps people, not frames: few tracks, steady labels, one card per track
on the Live page, and the never-enrolled singer as one unknown group.

The clip's people-appearances, found by looking at its frames (docs/edge.md): a performer far
away and a blurred face in the audience (frames 0-19), a man in profile (20-81), the singer
close up (82-210), four people in the audience (211-274): 8."""

from __future__ import annotations

import time
from collections import Counter

import requests

from edge.client import ApiClient
from storage import Database
from tests.clients.conftest import ApiServer, run_edge_on_clip
from tests.conftest import people_images
from tests.console.conftest import new_browser

APPEARANCES = 8
ENROLLED = ("alex_lacamoire", "biden", "kit_harington", "obama", "rose_leslie")


def enrol(url: str) -> None:
    with ApiClient(url) as client:
        for person in ENROLLED:
            client.create_person(person)
            for photo in people_images()[person]:
                client.add_image(person, photo.read_bytes(), photo.name)
        job = client.train(wait=True)
        assert job["state"] not in ("failed", "unknown"), job


def wait_for(condition, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := condition()) is not None:
            return value
        time.sleep(0.5)
    raise AssertionError("timed out")


def singer_groups(url: str) -> set[int]:
    """The unknown groups of the sightings a photo of the singer matches (waits for grouping)."""
    with open(people_images()["lin_manuel_miranda"][0], "rb") as photo:
        found = requests.post(f"{url}/recognitions/search", files={"image": photo}, timeout=60)
    results = found.json()["results"]
    sightings = {r["sighting_id"] for r in results if r["match"] and r["label"] == "unknown"}
    assert sightings, found.json()

    def grouped():
        groups = requests.get(f"{url}/unknowns?limit=500", timeout=10).json()["groups"]
        owner = {}
        for group in groups:
            detail = requests.get(f"{url}/unknowns/{group['id']}", timeout=10).json()
            owner.update({face["id"]: group["id"] for face in detail["faces"]})
        return {owner[s] for s in sightings} if sightings <= owner.keys() else None

    return wait_for(grouped)


def test_the_clip_is_decided_once_per_person_passing(tmp_path):
    server = ApiServer(tmp_path).start()
    try:
        enrol(server.url)
        run_edge_on_clip(server.url, "--queue-size", "1000", timeout=300)
        tracks = requests.get(f"{server.url}/tracks?per_page=1000", timeout=10).json()["tracks"]
        # At most 1.5 tracks per appearance, and every track was ended by the edge. (A face too
        # far or blurred for the cloud to find, the ~25 px one in the audience, makes none.)
        assert APPEARANCES - 3 <= len(tracks) <= 1.5 * APPEARANCES, [t["id"] for t in tracks]
        assert all(t["ended"] for t in tracks)
        assert "lin_manuel_miranda" not in {t["label"] for t in tracks}

        # No track's label changes more than once (unknown -> named as evidence grows).
        events = Database(f"sqlite:///{tmp_path}/db.sqlite").track_events_after(0, limit=10_000)
        changes = Counter(e["track"]["id"] for e in events if e["kind"] == "label")
        assert max(changes.values(), default=0) <= 1, changes
        assert Counter(e["kind"] for e in events)["start"] == len(tracks)

        # The singer, never enrolled, is one unknown group: his close-up (frames 82-210) and his
        # far-away shot (frames 0-19, a ~40 px face, similarity 0.69 to the close-up's mean,
        # below the join threshold) are one camera seconds apart, so they join at the looser
        # nearby threshold (docs/sightings.md).
        assert len(singer_groups(server.url)) == 1

        # The Live page: one card per track.
        browser = new_browser()
        try:
            browser.get(server.url + "/#live")
            cards = wait_for(
                lambda: browser.find_elements("css selector", "#live-grid .track") or None, 30
            )
            keys = [card.get_attribute("data-track") for card in cards]
            assert sorted(keys) == sorted(t["id"] for t in tracks)
            browser.save_screenshot(str(tmp_path / "live-clip.png"))
        finally:
            browser.quit()
    finally:
        server.stop()
