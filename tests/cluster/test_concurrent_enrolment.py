"""8 clients enrol at once, into one shared person and into people of their own."""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict

import requests

from scripts.cluster.steps import upload
from tests.conftest import people_images

SHARED_PERSON = "crowd-obama"
CLIENTS = 8


def test_every_accepted_image_is_stored_exactly_once(cluster, trained):
    images = people_images()
    own_people = ["kit_harington", "rose_leslie", "biden", "alex_lacamoire"]
    # Clients 0-3 all send every obama image to the same person, each in its own order;
    # clients 4-7 send one person's images to a person of their own, every image twice.
    plans: list[list[tuple[str, bytes]]] = []
    obama = [path.read_bytes() for path in images["obama"]]
    for client in range(4):
        plans.append([(SHARED_PERSON, data) for data in obama[client:] + obama[:client]])
    for client, source in enumerate(own_people, start=4):
        own = [path.read_bytes() for path in images[source]]
        plans.append([(f"crowd-{client}", data) for data in own + own])

    people = {person for plan in plans for person, _ in plan}
    for person in people:
        assert requests.post(f"{cluster.url}/dataset/{person}", timeout=30).status_code == 201

    accepted: dict[str, set[str]] = defaultdict(set)
    refused: dict[str, set[str]] = defaultdict(set)  # photos in which the API sees several faces
    problems: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(plan):
        start.wait()
        with requests.Session() as session:
            for person, data in plan:
                url = f"{cluster.url}/dataset/{person}/image"
                try:
                    response = session.post(url, files=upload(data), timeout=120)
                except requests.RequestException as error:
                    with lock:
                        problems.append(f"{person}: {error}")
                    continue
                with lock:
                    if response.status_code in (200, 201):
                        accepted[person].add(hashlib.sha256(data).hexdigest())
                    elif response.status_code == 422 and "several_faces" in response.text:
                        refused[person].add(hashlib.sha256(data).hexdigest())  # by design
                    else:
                        problems.append(f"{person}: {response.status_code} {response.text}")

    threads = [threading.Thread(target=client, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    try:
        assert not problems, problems[:5]
        rows = cluster.database.query(
            "SELECT person_id, sha256, COUNT(*) FROM images WHERE person_id LIKE 'crowd-%%' "
            "GROUP BY person_id, sha256"
        )
        assert all(count == 1 for _, _, count in rows), rows
        stored: dict[str, set[str]] = defaultdict(set)
        for person, digest, _ in rows:
            stored[person].add(digest)
        assert stored == accepted
        # Every photo got the same answer from every client: stored once, or refused.
        every = {hashlib.sha256(data).hexdigest() for data in obama}
        assert accepted[SHARED_PERSON] | refused[SHARED_PERSON] == every
        assert not accepted[SHARED_PERSON] & refused[SHARED_PERSON]
        assert len(accepted[SHARED_PERSON]) >= 3
        listed = dict(
            (entry["id_name"], entry["number_of_images"])
            for entry in requests.get(f"{cluster.url}/dataset", timeout=30).json()["face_ids"]
        )
        assert {p: listed[p] for p in people} == {p: len(d) for p, d in accepted.items()}
    finally:
        for person in people:  # keep the crowd out of later trainings
            requests.delete(f"{cluster.url}/dataset/{person}", timeout=30)
