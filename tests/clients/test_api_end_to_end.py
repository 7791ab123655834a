"""The three CLIs end to end against the real API (gunicorn, SQLite, the real model bundle).

Enrol people from folders and from a "camera" (an image sequence), train, then watch a scene.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.request

import cv2
import pytest

from tests.clients.conftest import run_cli
from tests.conftest import FACES, PEOPLE


def dataset(api_url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{api_url}/dataset", timeout=10) as response:
        body = json.load(response)
    return {item["id_name"]: item["number_of_images"] for item in body["face_ids"]}


@pytest.fixture(scope="module")
def enrolled(api_url, tmp_path_factory):
    """obama and rose_leslie from folders, biden's folder spoiled with a group photo and a text
    file, kit_harington from a camera; then trained."""
    biden = tmp_path_factory.mktemp("biden")
    for path in (PEOPLE / "biden").iterdir():
        shutil.copy(path, biden / path.name)
    shutil.copy(FACES / "scenes" / "two_people.jpg", biden / "group.jpg")
    (biden / "notes.txt").write_text("not an image")
    outputs = {
        "obama": run_cli("add_user_from_dataset", "--input-folder", str(PEOPLE / "obama"), "--person-id", "obama",
                         "--api-url", api_url, "--create-id"),
        "rose_leslie": run_cli("add_user_from_dataset", "--source", str(PEOPLE / "rose_leslie"),
                               "--person-id", "rose_leslie", "--api-url", api_url, "--create-id"),
        "biden": run_cli("add_user_from_dataset", "--input-folder", str(biden), "--person-id", "biden",
                         "--api-url", api_url, "--create-id"),
        "kit_harington": run_cli("add_user_with_camera", "--source", str(PEOPLE / "kit_harington" / "*.jpg"),
                                 "--person-id", "kit_harington", "--img-number", "3", "--frame-interval", "1",
                                 "--api-url", api_url, "--create-id", "--train"),
    }  # fmt: skip
    return outputs


def tally(output: str) -> tuple[int, int]:
    match = re.search(r"accepted: (\d+), rejected: (\d+)", output)
    assert match, output
    return int(match[1]), int(match[2])


def test_folders_are_uploaded_with_a_summary(enrolled, api_url):
    people = dataset(api_url)
    for person in ("obama", "rose_leslie"):
        result = enrolled[person]
        assert result.returncode == 0, result.stderr
        accepted, rejected = tally(result.stdout)
        # Every file is accounted for, and the summary is what the API stored.
        assert accepted + rejected == len(list((PEOPLE / person).iterdir()))
        assert accepted >= 1 and people[person] == accepted
        if rejected:  # the API's MTCNN may see a second face in the background: said, with why
            assert "exactly one face" in result.stdout


def test_rejected_images_are_counted_with_their_reason(enrolled, api_url):
    result = enrolled["biden"]
    assert result.returncode == 0, result.stderr
    accepted, rejected = tally(result.stdout)
    assert accepted + rejected == 4 and rejected >= 2
    assert "1 x not an image file (.txt)" in result.stdout
    assert "several_faces" in result.stdout  # the group photo
    assert "rejected group.jpg" in result.stderr + result.stdout
    assert dataset(api_url)["biden"] == accepted


def test_camera_enrolment_crops_at_the_edge_and_trains(enrolled, api_url):
    result = enrolled["kit_harington"]
    assert result.returncode == 0, result.stderr
    assert "accepted: 3" in result.stdout
    assert "training: succeeded, model version " in result.stdout
    assert dataset(api_url)["kit_harington"] == 3


def test_unknown_person_without_create_id_is_a_clear_error(api_url):
    result = run_cli("add_user_from_dataset", "--input-folder", str(PEOPLE / "biden"), "--person-id", "nobody",
                     "--api-url", api_url)  # fmt: skip
    assert result.returncode == 2
    assert "--create-id" in result.stderr and "Traceback" not in result.stderr


def test_real_time_camera_names_the_people_in_a_scene(enrolled, api_url, tmp_path):
    output = tmp_path / "scene.mp4"
    result = run_cli("real_time_camera", "--source", str(FACES / "scenes" / "*.jpg"), "--api-url", api_url,
                     "--no-display", "--output", str(output), "--multithreading", "--min-size", "50")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "frames: 3" in result.stdout
    for person in ("obama", "biden", "kit_harington", "rose_leslie"):
        assert f"  {person}: " in result.stdout, result.stdout
    capture = cv2.VideoCapture(str(output))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3  # scenes of different sizes, all written
    capture.release()


def test_edge_daemon_stores_results_in_the_real_api(enrolled, api_url):
    import subprocess
    import sys

    from tests.conftest import ROOT

    result = subprocess.run(
        [sys.executable, "-m", "edge.daemon", "--source", str(FACES / "scenes" / "*.jpg"), "--api-url", api_url,
         "--camera-id", "door-1", "--location-id", "hall", "--log-level", "INFO"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "0 dropped, 0 failed, 0 rejected" in result.stdout
    assert "obama" in result.stderr and "biden" in result.stderr  # the recognitions are logged


def test_edge_keeps_working_while_a_real_api_replica_restarts(enrolled, api_server):
    """A second replica on the same database and model store is stopped and started under the edge."""
    import subprocess
    import sys
    import time

    from tests.clients.conftest import ApiServer
    from tests.conftest import ROOT
    from tests.edge.conftest import CLIP

    replica = ApiServer(api_server.state).start()
    edge = subprocess.Popen(
        [sys.executable, "-m", "edge.daemon", "--source", str(CLIP), "--api-url", replica.url, "--rate", "25",
         "--max-frames", "200", "--resend-every", "10", "--retries", "1", "--timeout", "5",
         "--camera-id", "door-2", "--location-id", "hall", "--log-level", "INFO", "--drain-timeout", "30"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(2.5)
        replica.stop()
        time.sleep(2.0)
        assert edge.poll() is None, "the edge died with the API"
        replica.start()
        out, err = edge.communicate(timeout=120)
    finally:
        replica.stop()
        if edge.poll() is None:
            edge.kill()
    assert edge.returncode == 0, err
    crops = re.search(
        r"crops: (\d+) queued, (\d+) sent \(\d+ bytes\), (\d+) dropped, (\d+) failed", out
    )
    queued, sent, dropped, failed = map(int, crops.groups())
    assert "frames: 200" in out
    assert dropped + failed > 0 and sent > 0
    assert queued == sent + dropped + failed
    # Recognitions were logged both before the stop and after the restart.
    frames = [int(m) for m in re.findall(r"frame (\d+): ", err)]
    assert min(frames) < 60 and max(frames) > 110, err[-2000:]
