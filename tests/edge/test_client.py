"""Retries with backoff on 5xx and connection errors, never on 4xx, against a real HTTP server."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.client import ApiClient, ApiError
from tests.edge.conftest import free_port

JPEG = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()


def test_5xx_is_retried_until_it_works(stub_api, clip_frames):
    api = stub_api("--fail-first", "2")
    jpeg = cv2.imencode(".jpg", clip_frames[0])[1].tobytes()
    with ApiClient(api.url, retries=3, backoff=0.01) as client:
        answer = client.store_results(jpeg, "cam-1", "hall")
    assert answer["faces"][0]["top_prediction"]["label"] == "someone"
    stats = api.stats()
    assert (stats["requests"], stats["uploads"]) == (3, 1)
    assert stats["fields"] == [{"camera_id": "cam-1", "location_id": "hall", "crop": "true"}]


def test_5xx_gives_up_after_the_retries(stub_api):
    api = stub_api("--fail-first", "10")
    with ApiClient(api.url, retries=2, backoff=0.01) as client, pytest.raises(ApiError) as error:
        client.recognize(JPEG)
    assert error.value.status == 500 and error.value.retryable
    assert api.stats()["requests"] == 3


def test_4xx_is_never_retried(stub_api):
    api = stub_api("--status", "422")
    with ApiClient(api.url, retries=3, backoff=0.01) as client, pytest.raises(ApiError) as error:
        client.recognize(JPEG)
    assert (error.value.status, error.value.error, error.value.retryable) == (422, "refused", False)
    assert api.stats()["requests"] == 1


def test_no_server_is_a_retryable_error_not_a_crash():
    client = ApiClient(f"http://127.0.0.1:{free_port()}", retries=1, backoff=0.01)
    with client, pytest.raises(ApiError) as error:
        client.recognize(JPEG)
    assert error.value.status is None and error.value.retryable


def test_one_keep_alive_connection_serves_many_requests(stub_api):
    api = stub_api()
    with ApiClient(api.url) as client:
        for _ in range(3):
            client.recognize(JPEG)
        peers = client.request("GET", "/stats")["peers"]
    assert len(peers) == 1
