"""The uploader's queue is bounded: the cloud going away costs the oldest crops, counted, never memory."""

from __future__ import annotations

import time

from edge.client import ApiClient
from edge.uploader import Uploader
from tests.edge.conftest import StubApi, free_port


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_slow_cloud_drops_the_oldest_and_sends_the_newest(stub_api, clip_frames):
    import cv2

    api = stub_api("--delay", "0.2")
    crops = [cv2.imencode(".jpg", frame[:100, :100])[1].tobytes() for frame in clip_frames[:20]]
    answered = []
    with ApiClient(api.url, retries=0) as client:
        uploader = Uploader(
            client.recognize, queue_size=3, on_result=lambda ctx, _: answered.append(ctx)
        )
        for index, crop in enumerate(crops):
            uploader.submit(crop, index)
        stats = uploader.close(drain_timeout=5)
    assert len(uploader._queue) == 0
    assert stats.queued == 20 and stats.sent + stats.dropped == 20
    assert stats.dropped >= 15
    # The newest three always made it; the oldest sent one is whatever the worker had taken first.
    assert answered[-3:] == [17, 18, 19]
    assert api.stats()["uploads"] == stats.sent
    assert stats.sent_bytes == api.stats()["image_bytes"]


def test_cloud_down_then_back_resumes_without_crashing(clip_frames):
    import cv2

    crop = cv2.imencode(".jpg", clip_frames[0][:120, :120])[1].tobytes()
    api = StubApi(free_port())
    with ApiClient(api.url, retries=1, backoff=0.01) as client:
        uploader = Uploader(client.recognize, queue_size=4, pause_after_failure=0.05, max_pause=0.2)
        for _ in range(10):  # nobody listening
            uploader.submit(crop)
        assert wait_for(lambda: uploader.stats().failed >= 1)
        api.start()
        try:
            assert wait_for(lambda: uploader.pending == 0)
            before = uploader.stats()
            for _ in range(3):
                uploader.submit(crop)
            assert wait_for(lambda: uploader.stats().sent == before.sent + 3)
        finally:
            stats = uploader.close()
            api.stop()
    assert stats.dropped >= 6 and stats.failed >= 1
    assert stats.queued == 13 == stats.sent + stats.dropped + stats.failed


def test_a_track_end_follows_its_crops_and_a_refused_end_costs_no_crop(stub_api, clip_frames):
    """The cloud hears a track's end after that track's crops, and a dead end is only logged."""
    import cv2

    api = stub_api("--delay", "0.05")
    crops = [cv2.imencode(".jpg", frame[:100, :100])[1].tobytes() for frame in clip_frames[:4]]
    with ApiClient(api.url, retries=0) as client:
        send = lambda jpeg, track_id: client.store_results(jpeg, "cam", "loc", track_id=track_id)  # noqa: E731
        uploader = Uploader(
            send, queue_size=10, end=lambda track_id: client.end_track("cam", track_id)
        )
        for crop in crops[:3]:
            uploader.submit(crop, track_id="t-1")
        uploader.submit_end(track_id="t-1")
        uploader.submit(crops[3], track_id="t-2")
        stats = uploader.close(drain_timeout=5)
    assert api.stats()["ends"] == [["t-1", 3]]
    assert (stats.queued, stats.sent, stats.dropped, stats.ends) == (4, 4, 0, 1)

    dead = stub_api("--status", "503")
    with ApiClient(dead.url, retries=0) as client:
        uploader = Uploader(lambda jpeg: {}, end=lambda track_id: client.end_track("c", track_id))
        uploader.submit_end(track_id="t-1")
        stats = uploader.close(drain_timeout=5)
    assert (stats.ends, stats.failed, stats.dropped) == (0, 0, 0)
