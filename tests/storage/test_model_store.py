"""The model store on a folder (the shared volume) and the per-worker watcher."""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from recognition.classifier import FaceClassifier
from storage import NotFound
from storage.model_store import VERSION_PATTERN, ModelStore, ModelWatcher

ROOT = Path(__file__).resolve().parents[2]


def tiny_classifier(*labels: str, seed: int = 0) -> FaceClassifier:
    """A real classifier fitted on random unit vectors, three per person."""
    rng = np.random.default_rng(seed)
    embeddings = rng.standard_normal((3 * len(labels), 512)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    return FaceClassifier.fit(embeddings, [label for label in labels for _ in range(3)], 0.5)


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_publish_then_load(tmp_path):
    store = ModelStore(tmp_path)
    assert store.current_version() is None and store.versions() == []
    classifier = tiny_classifier("obama", "biden")
    trained_at = datetime(2026, 11, 22, 22, 31, tzinfo=UTC)
    version = store.publish(classifier, {"job_id": 7, "trained_at": trained_at})
    assert VERSION_PATTERN.match(version)
    assert store.current_version() == version and store.versions() == [version]
    loaded, metadata = store.load(version)
    assert loaded.labels == ["biden", "obama"]
    assert metadata["job_id"] == 7 and metadata["trained_at"] == trained_at.isoformat()
    probe = classifier.gallery.embeddings[:4]
    assert [p.label for p in loaded.predict(probe)] == [p.label for p in classifier.predict(probe)]
    assert files_in(tmp_path / "versions") == [f"{version}.json", f"{version}.npz"]
    assert (tmp_path / "CURRENT").read_text() == f"{version}\n"


def test_keep_n_prunes_the_oldest(tmp_path):
    store = ModelStore(tmp_path, keep=3)
    published = [store.publish(tiny_classifier("a", "b", seed=i)) for i in range(5)]
    assert store.versions() == published[-3:]  # publication order, even within one second
    assert store.current_version() == published[-1]
    expected = sorted(f"{v}.{ext}" for v in published[-3:] for ext in ("json", "npz"))
    assert files_in(tmp_path / "versions") == expected  # no temp files left behind


def test_rollback_walks_back_and_stops_at_the_oldest(tmp_path):
    store = ModelStore(tmp_path, keep=3)
    first, second, third = (store.publish(tiny_classifier("a", "b", seed=i)) for i in range(3))
    assert store.rollback() == second and store.current_version() == second
    assert store.rollback() == first
    with pytest.raises(NotFound):
        store.rollback()
    assert store.current_version() == first
    fourth = store.publish(tiny_classifier("a", "b", "c"))
    assert store.current_version() == fourth and store.versions() == [second, third, fourth]
    assert store.rollback() == third and store.current_version() == third


def test_rollback_with_nothing_published(tmp_path):
    with pytest.raises(NotFound):
        ModelStore(tmp_path).rollback()


@pytest.mark.parametrize("name", ["../../etc/passwd", "CURRENT", "", "20261122T223100Z-0123abcd"])
def test_unknown_or_malicious_versions_are_not_found(tmp_path, name):
    store = ModelStore(tmp_path)
    store.publish(tiny_classifier("a", "b"))
    with pytest.raises(NotFound):
        store.load(name)


def test_a_tampered_file_is_refused_and_the_watcher_keeps_its_model(tmp_path):
    store = ModelStore(tmp_path)
    good = store.publish(tiny_classifier("a", "b"))
    watcher = ModelWatcher(store, poll_seconds=0)
    assert watcher.current()[0] == good
    bad = store.publish(tiny_classifier("a", "c"))
    path = tmp_path / "versions" / f"{bad}.npz"
    path.write_bytes(path.read_bytes()[:-10])  # torn, as a crashed non-atomic writer leaves it
    with pytest.raises(ValueError):
        store.load(bad)
    version, classifier = watcher.current()
    assert version == good and classifier.labels == ["a", "b"]


def test_the_pointer_never_names_a_missing_file(tmp_path):
    store = ModelStore(tmp_path, keep=2)
    done = threading.Event()
    problems = []

    def check_pointer():
        while not done.is_set():
            version = store.current_version()
            if version is None:
                continue
            present = (tmp_path / "versions" / f"{version}.npz").exists() and (
                tmp_path / "versions" / f"{version}.json"
            ).exists()
            if not present and store.current_version() == version:
                problems.append(version)

    checker = threading.Thread(target=check_pointer)
    checker.start()
    try:
        for seed in range(15):
            store.publish(tiny_classifier("a", "b", seed=seed))
    finally:
        done.set()
        checker.join()
    assert problems == []


def test_a_reader_hammering_the_watcher_never_sees_an_error_or_a_torn_model(tmp_path):
    store = ModelStore(tmp_path, keep=2)
    labels_of = {store.publish(tiny_classifier("p0a", "p0b")): ["p0a", "p0b"]}
    watcher = ModelWatcher(store, poll_seconds=0)  # re-read the pointer on every call
    done = threading.Event()
    seen, errors = [], []

    def hammer():
        while not done.is_set():
            try:
                version, classifier = watcher.current()
                classifier.predict(classifier.gallery.embeddings[:1])
                seen.append((version, classifier.labels))
            except Exception as error:  # any error at all fails the test
                errors.append(repr(error))

    reader = threading.Thread(target=hammer)
    reader.start()
    try:
        for i in range(1, 16):
            labels = [f"p{i}a", f"p{i}b"]
            labels_of[store.publish(tiny_classifier(*labels, seed=i))] = labels
            time.sleep(0.01)
    finally:
        done.set()
        reader.join()
    assert errors == []
    assert len({version for version, _ in seen}) > 3  # it really swapped models while reading
    assert all(labels == labels_of[version] for version, labels in seen)
    order = list(labels_of)
    positions = [order.index(version) for version, _ in seen]
    assert positions == sorted(positions)  # never back to an older model


def test_the_watcher_polls_at_most_every_poll_seconds(tmp_path):
    store = ModelStore(tmp_path)
    first = store.publish(tiny_classifier("a", "b"))
    watcher = ModelWatcher(store, poll_seconds=0.5)
    assert watcher.current()[0] == first
    second = store.publish(tiny_classifier("a", "b", seed=1))
    assert watcher.current()[0] == first  # within the poll interval: no file access at all
    time.sleep(0.55)
    assert watcher.current()[0] == second
    assert watcher.snapshot().metadata["version"] == second


def test_the_background_thread_loads_new_versions(tmp_path, caplog):
    """Nothing asks the watcher here: only its own thread can load the new version."""
    store = ModelStore(tmp_path)
    watcher = ModelWatcher(store, poll_seconds=0.1)

    def loaded_by_the_thread() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.threadName == "model-watcher"]

    with caplog.at_level(logging.INFO, logger="storage.model_store"):
        watcher.start()
        try:
            version = store.publish(tiny_classifier("a", "b"))
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                if f"loaded model {version}" in loaded_by_the_thread():
                    break
                time.sleep(0.02)
        finally:
            watcher.stop()
    assert f"loaded model {version}" in loaded_by_the_thread()


WATCHING_PROCESS = """
import sys, time
from storage.model_store import ModelStore, ModelWatcher
watcher = ModelWatcher(ModelStore(sys.argv[1]), poll_seconds=1.0)
last = object()
while True:
    version = watcher.current()[0]
    if version != last:
        print(version, flush=True)
        last = version
    time.sleep(0.02)
"""


def test_another_process_sees_a_new_version_within_two_seconds(tmp_path):
    store = ModelStore(tmp_path)
    first = store.publish(tiny_classifier("a", "b"))
    process = subprocess.Popen(
        [sys.executable, "-c", WATCHING_PROCESS, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(x.strip()) for x in process.stdout], daemon=True
    ).start()
    try:
        assert lines.get(timeout=30) == first
        second = store.publish(tiny_classifier("a", "b", "c"))
        published_at = time.monotonic()
        assert lines.get(timeout=5) == second
        seconds = time.monotonic() - published_at
        print(f"the other process served {second} {seconds:.2f} s after it was published")
        assert seconds < 2.0
        assert json.loads((tmp_path / "versions" / f"{second}.json").read_text())["labels"] == [
            "a",
            "b",
            "c",
        ]
    finally:
        process.kill()
        process.wait()


def test_forget_removes_a_person_from_every_kept_version_and_the_watcher_reloads(tmp_path):
    store = ModelStore(tmp_path, keep=5)
    first = store.publish(tiny_classifier("alice", "bob"))
    second = store.publish(tiny_classifier("alice", "bob", "carol", seed=1))
    only_bob = store.publish(tiny_classifier("bob", seed=2))
    assert store.rollback() == second
    watcher = ModelWatcher(store, poll_seconds=0)
    assert "bob" in watcher.current()[1].labels

    assert sorted(store.forget("bob")) == sorted([first, second, only_bob])
    assert only_bob not in store.versions()  # bob was all it knew
    for version in (first, second):
        classifier, metadata = store.load(version)  # the sha256 still checks out
        assert "bob" not in classifier.labels and metadata["labels"] == classifier.labels
        assert "alice" in classifier.labels
    assert watcher.current()[1].labels == ["alice", "carol"]  # the rewrite is picked up
    assert store.rollback() == first and "bob" not in store.load(first)[0].labels
    assert store.forget("nobody") == []
