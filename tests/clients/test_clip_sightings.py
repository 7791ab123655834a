"""The edge daemon over the real clip stores sightings with faces; a photo of someone in the clip
who was never enrolled finds their sightings (issue 12's end-to-end claim), through real
gunicorn and the real edge process."""

from __future__ import annotations

import requests

from tests.clients.conftest import ApiServer, run_edge_on_clip
from tests.conftest import people_images


def test_a_never_enrolled_person_is_found_in_the_clip_by_a_photo(tmp_path):
    server = ApiServer(tmp_path).start()
    try:
        run_edge_on_clip(server.url, "--max-frames", "120", timeout=240)
        page = requests.get(f"{server.url}/recognitions?per_page=1000", timeout=10).json()
        assert page["total"] > 0
        assert all(r["face_url"] and r["label"] == "unknown" for r in page["recognitions"])

        with open(people_images()["lin_manuel_miranda"][0], "rb") as photo:
            found = requests.post(
                f"{server.url}/recognitions/search", files={"image": photo}, timeout=60
            ).json()
        matches = [r for r in found["results"] if r["match"]]
        assert matches, found
        # Search ranks tracks: each result's `similarity` is its best crop's, the face shown.
        assert all(
            r["camera_id"] == "stage" and r["similarity"] >= found["threshold"] for r in matches
        )
        face = requests.get(f"{server.url}{matches[0]['sighting_face_url']}", timeout=10)
        assert face.headers["Content-Type"] == "image/jpeg" and face.content[:2] == b"\xff\xd8"
        # Search answers tracks, one per person passing, not each recorded sighting.
        assert len(found["results"]) < page["total"]
    finally:
        server.stop()
