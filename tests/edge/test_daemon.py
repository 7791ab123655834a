"""`facerec-edge` on the real clip: crops only, counted bytes, and it survives the API restarting."""

from __future__ import annotations

import re
import subprocess
import sys
import time

from tests.conftest import ROOT
from tests.edge.conftest import CLIP, StubApi, free_port


def run_edge(api_url: str, *flags: str, wait=True):
    command = [sys.executable, "-m", "edge.daemon", "--source", str(CLIP), "--api-url", api_url]
    command += ["--camera-id", "door-1", "--location-id", "hall", "--log-level", "WARNING", *flags]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if not wait:
        return process
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def summary_numbers(out: str) -> dict[str, int]:
    names = [
        "frames",
        "faces",
        "queued",
        "sent",
        "sent_bytes",
        "dropped",
        "failed",
        "rejected",
        "ends",
        "crop_bytes",
    ]
    pattern = (
        r"frames: (\d+) .*faces: (\d+)\ncrops: (\d+) queued, (\d+) sent \((\d+) bytes\), (\d+) dropped, "
        r"(\d+) failed, (\d+) rejected, (\d+) track ends told\nbandwidth: (\d+) crop bytes"
    )
    match = re.search(pattern, out)
    assert match, out
    return dict(zip(names, map(int, match.groups()), strict=True))


def test_edge_sends_only_crops_with_its_ids_and_counts_the_bytes(stub_api):
    api = stub_api()
    code, out, err = run_edge(
        api.url,
        *("--max-frames", "60", "--queue-size", "1000", "--drain-timeout", "60"),
        *("--resend-every", "1"),  # every face of every frame, to account for every byte
    )
    assert code == 0, err
    numbers = summary_numbers(out)
    stats = api.stats()
    assert numbers["frames"] == 60 and numbers["faces"] > 0
    assert numbers["sent"] == numbers["faces"] == stats["uploads"]
    assert numbers["sent_bytes"] == numbers["crop_bytes"] == stats["image_bytes"]
    # Every crop names its track (issue #22): one id per face followed, 1-64 of [A-Za-z0-9._:-].
    track_ids = {fields.pop("track_id") for fields in stats["fields"]}
    assert all(re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", t) for t in track_ids)
    assert 1 < len(track_ids) < numbers["faces"] / 4
    assert all(
        fields == {"camera_id": "door-1", "location_id": "hall", "crop": "true"}
        for fields in stats["fields"]
    )
    # Crops, never frames: each upload is smaller than the 640x360 frame, most a small part of it.
    areas = [h * w for h, w in stats["image_shapes"]]
    assert max(areas) < 640 * 360 and sum(areas) / len(areas) < 640 * 360 / 4


def test_edge_keeps_working_while_the_api_is_stopped_and_restarted():
    api = StubApi(free_port()).start()
    edge = run_edge(
        api.url, "--rate", "60", "--queue-size", "4", "--retries", "1", "--timeout", "2", wait=False
    )
    try:
        deadline = time.monotonic() + 30
        while api.stats()["uploads"] < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        sent_before = api.stats()["uploads"]
        api.stop()
        time.sleep(1.5)
        assert edge.poll() is None, "the edge died with the API"
        api.start()
        out, err = edge.communicate(timeout=60)
        sent_after = api.stats()["uploads"]
    finally:
        api.stop()
        if edge.poll() is None:
            edge.kill()
    assert edge.returncode == 0, err
    numbers = summary_numbers(out)
    assert numbers["frames"] == 275
    assert sent_before > 0 and sent_after > 0
    assert numbers["dropped"] + numbers["failed"] > 0
    assert numbers["queued"] == numbers["sent"] + numbers["dropped"] + numbers["failed"]
    assert numbers["sent"] == sent_before + sent_after


def test_a_missing_source_is_one_clear_line():
    code, out, err = run_edge("http://127.0.0.1:9", "--source", "/no/such.mp4")
    assert code == 2 and "no such video file" in err and "Traceback" not in err


def test_resend_every_sends_a_fraction_of_the_faces(stub_api):
    api = stub_api()
    code, out, err = run_edge(
        api.url, "--max-frames", "60", "--resend-every", "15", "--queue-size", "1000"
    )
    assert code == 0, err
    numbers = summary_numbers(out)
    assert 0 < numbers["sent"] == api.stats()["uploads"] < numbers["faces"] / 4


def test_by_default_each_track_sends_its_best_shots_and_ends(stub_api):
    """Issue #22: tracks, not frames. The whole clip: 8 people-appearances, a handful of crops."""
    api = stub_api()
    code, out, err = run_edge(api.url, "--queue-size", "1000", "--log-level", "INFO")
    assert code == 0, err
    numbers = summary_numbers(out)
    assert numbers["frames"] == 275 and numbers["sent"] == api.stats()["uploads"]
    assert 8 <= numbers["sent"] <= 16 < numbers["faces"] / 25
    assert numbers["crop_bytes"] * 100 <= int(re.search(r"vs (\d+) bytes of JPEG", out)[1])
    tracks = int(re.search(r"tracks: (\d+) ", out)[1])
    assert 8 <= tracks <= 12
    sent_ids = [fields["track_id"] for fields in api.stats()["fields"]]
    ended = re.findall(r"track (\S+) ended: .*, (\d+) crops sent", err)
    # Every track that sent was ended once, with the number of crops it sent.
    assert sorted(t for t, _ in ended) == sorted(set(sent_ids))
    assert all(sent_ids.count(t) == int(n) for t, n in ended)
    # ... and the cloud was told, once per track, after every crop of that track had arrived.
    ends = api.stats()["ends"]
    assert sorted(t for t, _ in ends) == sorted(set(sent_ids)) and numbers["ends"] == len(ends)
    for track_id, uploads_before in ends:
        assert track_id not in sent_ids[uploads_before:]
