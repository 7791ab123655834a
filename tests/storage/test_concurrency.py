"""Concurrent writers: the database, not luck, keeps every image stored exactly once."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from storage import Database
from storage.models import Embedding, Image

from .conftest import unit_vector

THREADS = 8


def run_at_once(worker, count: int) -> list:
    barrier = threading.Barrier(count)

    def start(index):
        barrier.wait()
        return worker(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(start, range(count)))


def test_eight_threads_store_each_image_exactly_once(db, face_images):
    db.add_person("obama")
    db.add_person("kit")
    shared = face_images["obama"][0]  # every thread adds this one
    pairs = face_images["obama"][1:3]  # threads 2k and 2k+1 both add pairs[k % 2]
    own = face_images["kit_harington"] + face_images["rose_leslie"] + face_images["biden"]
    assert len(own) >= 4

    def worker(index):
        results = {"shared": db.add_image("obama", shared, unit_vector(index), "b1")}
        results["pair"] = db.add_image("obama", pairs[index % 2], unit_vector(index), "b1")
        if index < 4:
            results["own"] = db.add_image("kit", own[index], unit_vector(index), "b1")
        return results

    results = run_at_once(worker, THREADS)
    shared_ids = {r["shared"][0] for r in results}
    assert len(shared_ids) == 1
    assert sum(r["shared"][1] for r in results) == 1  # exactly one caller created it
    for k in (0, 1):
        group = [r["pair"] for i, r in enumerate(results) if i % 2 == k]
        assert len({image_id for image_id, _ in group}) == 1
        assert sum(created for _, created in group) == 1
    assert all(r["own"][1] for r in results[:4])
    assert dict(db.list_people()) == {"obama": 3, "kit": 4}
    with db.engine.connect() as connection:
        images = connection.scalar(select(func.count()).select_from(Image))
        embeddings = connection.scalar(select(func.count()).select_from(Embedding))
    assert images == embeddings == 7


def test_only_one_of_eight_racing_holders_gets_the_lease(db):
    won = run_at_once(lambda i: db.try_acquire_lock("training", f"worker-{i}", 30), THREADS)
    assert sum(won) == 1
    # The winner holds it: only it can renew.
    assert [db.renew_lock("training", f"worker-{i}", 30) for i in range(THREADS)] == won


def _open_each_file_with_the_others(urls: list[str], start, answers) -> None:
    for url in urls:
        database = Database(url)
        start.wait(timeout=60)  # the workers' first connections to each file, at one moment
        answers.put(database.ping())
        database.close()


def test_workers_opening_a_new_sqlite_file_together_all_connect(tmp_path):
    """A fresh deployment's gunicorn workers open the new SQLite file at the same moment.

    Each connection switches the file to WAL, which SQLite refuses at once to all but one of
    them ("database is locked", no busy wait); before the retry, the losers' pings failed and
    opened their breakers, so the first requests got 503 (9-17 of these 240 pings failed).
    Spawned, not forked: a fork of this many-threaded test process can inherit a held lock.
    """
    processes, files = 4, 60
    urls = [f"sqlite:///{tmp_path / f'{index}.db'}" for index in range(files)]
    spawn = multiprocessing.get_context("spawn")
    start, answers = spawn.Barrier(processes), spawn.Queue()
    workers = [
        spawn.Process(target=_open_each_file_with_the_others, args=(urls, start, answers))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        pings = [answers.get(timeout=60) for _ in range(processes * files)]
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
    assert pings.count(False) == 0 and len(pings) == processes * files
