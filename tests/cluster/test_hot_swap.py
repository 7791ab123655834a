"""Hot swap under load: a person is enrolled and a model trained while recognitions flow."""

from __future__ import annotations

import time

import requests

from scripts.cluster.loadgen import Load, post_image
from scripts.cluster.steps import GET_RESULTS, PointerWatch, enrol, face_crop, train, upload
from tests.conftest import people_images

SWAP_DEADLINE_SECONDS = 5.0


def test_every_replica_answers_with_the_new_model_within_5_s_and_no_request_fails(
    cluster, trained, obama_crop, analyzer
):
    alex = people_images()["alex_lacamoire"]
    probe = face_crop(analyzer, alex[-1])  # held out: only the new model can know it
    recognitions = post_image(cluster.url + GET_RESULTS, obama_crop)

    with Load(recognitions, concurrency=2, duration=50, keep_body=True) as load:
        with PointerWatch(cluster.model_dir / "CURRENT") as pointer:
            time.sleep(1.0)
            enrol(cluster.url, "alex_lacamoire", alex[:-1])
            new_version = train(cluster.url)["model_version"]
            assert new_version != trained
            switched_at = pointer.switched_to(new_version)
            assert switched_at is not None, f"CURRENT never named {new_version}"

            answered_at: dict[str, float] = {}
            labels: dict[str, str] = {}
            while len(answered_at) < len(cluster.replicas):
                assert time.monotonic() - switched_at < 3 * SWAP_DEADLINE_SECONDS, answered_at
                for replica in cluster.replicas:
                    if replica.name in answered_at:
                        continue
                    response = requests.post(
                        replica.url + GET_RESULTS, files=upload(probe), timeout=30
                    )
                    assert response.status_code == 200, response.text
                    body = response.json()
                    if body["model_version"] == new_version:
                        answered_at[replica.name] = time.monotonic()
                        labels[replica.name] = body["faces"][0]["top_prediction"]["label"]
                time.sleep(0.05)
        time.sleep(1.0)  # keep the load on past the swap

    failures = load.failures()
    assert not failures, failures[:5]
    versions = [o.body["model_version"] for o in load.outcomes]
    assert trained in versions and new_version in versions, "the load did not span the swap"
    for name, at in answered_at.items():
        assert at - switched_at <= SWAP_DEADLINE_SECONDS, f"{name}: {at - switched_at:.2f} s"
    assert set(labels.values()) == {"alex_lacamoire"}, labels
