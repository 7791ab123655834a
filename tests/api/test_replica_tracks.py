"""Two real gunicorn replicas behind nginx, receiving alternate crops of the same tracks at
once, end with the same tracks as one replica receiving the same crops: the same labels and
faces, and every crop counted (a track's evidence lives in the database, decided under its
row's lock)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from scripts.cluster.nginx import NginxBalancer
from tests.api.conftest import ADMIN, RECOGNIZE
from tests.api.servers import Gunicorn
from tests.api.test_replicas import replica_env
from tests.conftest import FACES, people_images

ENROLLED = {"obama": 2, "kit_harington": 1, "biden": 1}  # person: photos enrolled
STRANGERS = ("Ahmed_Chalabi", "Ai_Sugiyama")  # LFW people never enrolled here


def tracks_to_send() -> dict[str, list]:
    """Track id -> its crops: every photo of each enrolled person, and of two strangers."""
    images = people_images()
    tracks = {f"walk-{person}": images[person] for person in ENROLLED}
    for stranger in STRANGERS:
        tracks[f"walk-{stranger}"] = sorted((FACES / "lfw" / "enrolled" / stranger).iterdir())
    return tracks


def interleaved(tracks: dict[str, list]) -> list[tuple[str, object]]:
    """(track id, photo) with the tracks' crops interleaved, as cameras would send them."""
    longest = max(len(crops) for crops in tracks.values())
    return [
        (key, crops[i]) for i in range(longest) for key, crops in tracks.items() if i < len(crops)
    ]


def enrol_and_train(url: str, replicas: list[str]) -> None:
    """Enrol through `url`, train, and wait until every replica serves the model."""
    images = people_images()
    for person, count in ENROLLED.items():
        assert requests.post(f"{url}/dataset/{person}", headers=ADMIN).status_code == 201
        for path in images[person][:count]:
            with open(path, "rb") as handle:
                added = requests.post(
                    f"{url}/dataset/{person}/image", files={"image": handle}, headers=ADMIN
                )
            assert added.status_code == 201, added.text
    job = requests.post(f"{url}/model/optimized-train?wait=true", headers=ADMIN).json()
    assert job["state"] == "succeeded", job
    deadline = time.monotonic() + 10
    for replica in replicas:
        while requests.get(f"{replica}/model", headers=ADMIN).json()["model_version"] is None:
            assert time.monotonic() < deadline, "a replica never served the model"
            time.sleep(0.1)


def send_concurrently(url: str, crops: list[tuple[str, object]]) -> set[str]:
    """store-results for every crop from 4 threads at once; the upstreams that answered."""

    def send(item) -> str:
        key, path = item
        with open(path, "rb") as handle:
            response = requests.post(
                f"{url}/face-recognition/store-results",
                files={"image": handle},
                data={"camera_id": "door", "location_id": "hall", "track_id": key},
                headers=RECOGNIZE,
                timeout=120,
            )
        assert response.status_code == 200, response.text
        assert response.json()["faces"][0]["track"]["id"] == key
        return response.headers.get("X-Upstream", "direct")

    with ThreadPoolExecutor(4) as pool:
        return set(pool.map(send, crops))


def final_tracks(url: str) -> dict[str, dict]:
    listed = requests.get(f"{url}/tracks?per_page=100", headers=RECOGNIZE).json()["tracks"]
    return {t["id"]: t for t in listed}


def run(url: str, replicas: list[str], crops) -> tuple[dict[str, dict], set[str]]:
    enrol_and_train(url, replicas)
    upstreams = send_concurrently(url, crops)
    return final_tracks(url), upstreams


@pytest.mark.mariadb
def test_two_replicas_behind_nginx_decide_tracks_as_one_does(tmp_path, mariadb_url):
    tracks = tracks_to_send()
    crops = interleaved(tracks)
    pair_env = replica_env(tmp_path / "pair", mariadb_url("tracks_pair"))
    (tmp_path / "pair").mkdir()
    with (
        Gunicorn(pair_env, tmp_path / "first.log") as first,
        Gunicorn(pair_env, tmp_path / "second.log") as second,
    ):
        balancer = NginxBalancer(tmp_path / "nginx", [first.port, second.port]).start()
        try:
            pair, upstreams = run(balancer.url, [first.url, second.url], crops)
        finally:
            balancer.stop()
    assert len(upstreams) == 2, f"nginx sent every crop to one replica: {upstreams}"

    (tmp_path / "alone").mkdir()
    alone_env = replica_env(tmp_path / "alone", mariadb_url("tracks_alone"))
    with Gunicorn(alone_env, tmp_path / "alone.log") as only:
        alone, _ = run(only.url, [only.url], crops)

    assert sorted(pair) == sorted(alone) == sorted(tracks)
    for key, sent in tracks.items():
        assert pair[key]["crops"] == alone[key]["crops"] == len(sent), key
        for field in ("label", "person_id", "faces"):
            assert pair[key][field] == alone[key][field], (key, field, pair[key], alone[key])
        assert pair[key]["score"] == pytest.approx(alone[key]["score"], abs=1e-4)
    labels = {key: track["label"] for key, track in pair.items()}
    assert all(labels[f"walk-{person}"] == person for person in ENROLLED), labels
    assert all(labels[f"walk-{stranger}"] == "unknown" for stranger in STRANGERS), labels
