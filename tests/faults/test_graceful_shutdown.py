"""Rolling updates: a replica stopped mid-training fails its job and frees the lease at once;
a person deleted during `train` is skipped, not a failed job.

Before: SIGTERM left the job `running` forever and the lease held for its 30 s TTL, and a
deletion during `train` failed the job with "no image N".
"""

from __future__ import annotations

import signal
import time
from dataclasses import replace

import numpy as np
import requests

from api.config import Settings
from api.service import Service
from recognition import FaceAnalyzer
from storage import Database
from storage.model_store import ModelStore
from tests.conftest import people_images

from .conftest import ADMIN, serve, timed

PHOTOS = [path for paths in people_images().values() for path in paths]


def enrol_directly(db: Database, copies: int) -> list[str]:
    """Every real photo under `copies` person ids (no embedding work: `train` makes them)."""
    people = []
    for copy in range(copies):
        person = f"person{copy}"
        db.add_person(person)
        for path in PHOTOS:
            db.add_image(person, path.read_bytes(), np.ones(512, np.float32), "placeholder")
        people.append(person)
    return people


def test_sigterm_during_training_fails_the_job_and_releases_the_lease(
    tmp_path, mariadb, database_url
):
    url, name = database_url
    with serve(tmp_path, {"FACEREC_DATABASE_URL": url}) as api:
        db = Database(url)
        enrol_directly(db, copies=3)
        job = requests.post(api.url + "/model/train", headers=ADMIN, timeout=10).json()
        deadline = time.monotonic() + 10
        while db.get_job(job["id"])["state"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.3)  # well into re-embedding
        api.process.popen.send_signal(signal.SIGTERM)  # the master only, as the kubelet does
        stopped_in, _ = timed(lambda: api.process.popen.wait(25))

    finished = db.get_job(job["id"])
    leases = mariadb.query(f"SELECT holder FROM {name}.locks WHERE name = 'training'")
    db.close()
    assert finished["state"] == "failed", finished
    assert "shut down" in finished["error"]
    assert leases == []  # a new replica can train at once, not after the lease's 30 s
    print(f"\nSIGTERM mid-training: exited in {stopped_in:.1f} s, job failed, lease released")


class DeletingAnalyzer:
    """The real analyzer; while it embeds the first image, an admin deletes `victim`."""

    def __init__(self, analyzer: FaceAnalyzer, db: Database, victim: str):
        self.analyzer, self.db, self.victim = analyzer, db, victim

    def __getattr__(self, name):
        return getattr(self.analyzer, name)

    def subject(self, rgb):  # what training embeds each stored photo with
        if self.db.person_exists(self.victim):
            self.db.delete_person(self.victim)
        return self.analyzer.subject(rgb)


def test_a_person_deleted_during_train_is_skipped(tmp_path, analyzer, mariadb, database_url):
    url, _name = database_url
    db = Database(url)
    db.create_schema()
    images = people_images()
    for person in ("obama", "biden", "rose_leslie"):
        db.add_person(person)
        for path in images[person][:3]:
            db.add_image(person, path.read_bytes(), np.ones(512, np.float32), "placeholder")
    settings = replace(Settings(), database_url=url, model_dir=tmp_path / "model-store")
    service = Service(settings)  # its trainer, configured as in production, never started
    deleting = DeletingAnalyzer(analyzer, db, victim="biden")  # enrolled after obama
    service.trainer.analyzer = lambda: deleting
    job = service.trainer.start("train")
    job.join(60)
    finished = db.get_job(job.id)
    db.close()
    service.db.close()
    assert finished["state"] == "succeeded", finished
    published = ModelStore(settings.model_dir).metadata(finished["model_version"])
    assert published["labels"] == ["obama", "rose_leslie"]
