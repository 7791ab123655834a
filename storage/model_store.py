"""Trained classifiers on a shared volume (NFS in the cluster), and each worker's view of them.

Layout of `FACEREC_MODEL_DIR`:

    CURRENT                          the active version's id: a tiny file replaced atomically
    versions/<version>.npz           a classifier (FaceClassifier.to_bytes: arrays + JSON, no pickle)
    versions/<version>.json          its metadata, with the .npz's sha256 and a sequence number
    .lock                            serialises publish/rollback between processes

A version is written in full (temp file + fsync + rename) before CURRENT names it, and CURRENT
never names a pruned version, so a reader on any host sees the old model or the new one, whole.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import re
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from recognition.classifier import FaceClassifier
from storage.atomic import write_atomic
from storage.errors import NotFound

log = logging.getLogger(__name__)

POINTER = "CURRENT"
VERSION_PATTERN = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")
STALE_TEMP_SECONDS = 3600  # a temp file this old was left by a writer that died


class VersionMoved(Exception):
    """The current version is not the one the caller expected to change (someone else did)."""


def new_version_id() -> str:
    """A sortable, unique id: UTC time of publication and 32 random bits."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in model metadata")


class ModelStore:
    """Versioned classifiers in a folder every replica shares."""

    def __init__(self, model_dir: Path, keep: int = 5):
        if keep < 1:
            raise ValueError("keep at least one model version")
        self.model_dir = Path(model_dir)
        self.keep = keep
        self._versions_dir = self.model_dir / "versions"
        self._pointer = self.model_dir / POINTER
        self._threads = threading.Lock()

    def _classifier_path(self, version: str) -> Path:
        return self._versions_dir / f"{version}.npz"

    def _metadata_path(self, version: str) -> Path:
        return self._versions_dir / f"{version}.json"

    @contextmanager
    def _exclusive(self):
        """A POSIX lock on `.lock` (NFSv4 honours it across hosts), and a thread lock: POSIX
        locks belong to the process, so they do not keep a worker's own threads apart."""
        with self._threads:
            self._versions_dir.mkdir(parents=True, exist_ok=True)
            with open(self.model_dir / ".lock", "a+b") as handle:
                fcntl.lockf(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.lockf(handle, fcntl.LOCK_UN)

    def publish(self, classifier: FaceClassifier, metadata: dict | None = None) -> str:
        """Write a new version, make it the current one, prune old ones; returns its id."""
        data = classifier.to_bytes()
        with self._exclusive():
            version = new_version_id()
            existing = self._metadata_list()
            record = {
                **(metadata or {}),
                "version": version,
                "sequence": max((m["sequence"] for m in existing), default=0) + 1,
                "published_at": datetime.now(UTC).isoformat(),
                "sha256": hashlib.sha256(data).hexdigest(),
                "labels": list(classifier.labels),
            }
            write_atomic(self._classifier_path(version), data)
            write_atomic(
                self._metadata_path(version),
                json.dumps(record, default=_json_default, indent=1).encode(),
            )
            self.load(version)  # never point at a file that cannot be read back
            self._switch(version)
            self._prune(version)
        log.info("published model %s (%s)", version, ", ".join(classifier.labels))
        return version

    def forget(self, person_id: str) -> list[str]:
        """Rewrite every kept version that knows `person_id` without them, so no rollback can
        bring their embeddings back; returns the versions rewritten. Each file is replaced
        atomically, and its metadata's sha256 with it."""
        rewritten = []
        with self._exclusive():
            for record in self._metadata_list():
                if person_id not in record.get("labels", ()):
                    continue
                version = record["version"]
                classifier, metadata = self.load(version)
                remaining = [label for label in classifier.labels if label != person_id]
                if not remaining:  # they were all it knew: the version goes
                    self._metadata_path(version).unlink(missing_ok=True)
                    self._classifier_path(version).unlink(missing_ok=True)
                    rewritten.append(version)
                    continue
                data = classifier.without([person_id]).to_bytes()
                metadata.update(labels=remaining, sha256=hashlib.sha256(data).hexdigest())
                write_atomic(self._classifier_path(version), data)
                write_atomic(self._metadata_path(version), json.dumps(metadata, indent=1).encode())
                rewritten.append(version)
        if rewritten:
            log.info("forgot %r in model versions %s", person_id, ", ".join(rewritten))
        return rewritten

    def _switch(self, version: str) -> None:
        write_atomic(self._pointer, f"{version}\n".encode())

    def current_version(self) -> str | None:
        """The version CURRENT names, or None before the first publish.

        The file is opened and read rather than stat'ed: NFS clients may cache attributes for
        up to a minute, but close-to-open consistency makes every open see the latest file.
        """
        try:
            text = self._pointer.read_text().strip()
        except FileNotFoundError:
            return None
        return text if VERSION_PATTERN.match(text) else None

    def _metadata_list(self) -> list[dict]:
        """Metadata of every complete version (both files present), oldest first."""
        records = []
        for path in self._versions_dir.glob("*.json"):
            version = path.stem
            if not VERSION_PATTERN.match(version) or not self._classifier_path(version).exists():
                continue
            try:
                record = json.loads(path.read_text())
                records.append({**record, "version": version, "sequence": int(record["sequence"])})
            except (OSError, ValueError, KeyError, TypeError):
                log.warning("ignoring unreadable model metadata %s", path)
        return sorted(records, key=lambda record: (record["sequence"], record["version"]))

    def versions(self) -> list[str]:
        """Every kept version, oldest first (publication order, not clock order)."""
        return [record["version"] for record in self._metadata_list()]

    def metadata(self, version: str) -> dict:
        self._check_version(version)
        try:
            return json.loads(self._metadata_path(version).read_text())
        except FileNotFoundError:
            raise NotFound(f"no model version {version!r}") from None

    def load(self, version: str) -> tuple[FaceClassifier, dict]:
        """The classifier and its metadata; ValueError if the file is not the one published."""
        metadata = self.metadata(version)
        try:
            data = self._classifier_path(version).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no model version {version!r}") from None
        if hashlib.sha256(data).hexdigest() != metadata.get("sha256"):
            raise ValueError(f"model {version} does not match its recorded sha256")
        return FaceClassifier.from_bytes(data), metadata

    @staticmethod
    def _check_version(version: str) -> None:
        if not isinstance(version, str) or not VERSION_PATTERN.match(version):
            raise NotFound(f"no model version {version!r}")

    def rollback(self, leaving: str | None = None) -> str:
        """Make the version published before the current one current again; returns it.

        With `leaving`, the version the caller saw as current, it is idempotent: a repeat (or
        a concurrent twin) that finds the rollback from `leaving` done returns the same
        version instead of going back further; VersionMoved if the model changed otherwise.
        """
        with self._exclusive():
            versions = self.versions()
            current = self.current_version()
            if leaving is not None and current != leaving:
                if leaving in versions[1:] and current == versions[versions.index(leaving) - 1]:
                    return current  # already rolled back from `leaving`
                raise VersionMoved(
                    f"the current model is {current}, not {leaving}: it changed meanwhile"
                )
            if current not in versions or versions.index(current) == 0:
                raise NotFound("there is no older model version to roll back to")
            previous = versions[versions.index(current) - 1]
            self.load(previous)
            self._switch(previous)
        log.warning("rolled the model back from %s to %s", current, previous)
        return previous

    def _prune(self, current: str) -> None:
        versions = self.versions()
        excess = len(versions) - self.keep
        for version in [v for v in versions if v != current][: max(0, excess)]:
            # The metadata goes first: without it the version no longer counts as complete.
            self._metadata_path(version).unlink(missing_ok=True)
            self._classifier_path(version).unlink(missing_ok=True)
        cutoff = time.time() - STALE_TEMP_SECONDS
        for temp in self._versions_dir.glob(".*.tmp"):
            try:
                if temp.stat().st_mtime < cutoff:
                    temp.unlink()
            except FileNotFoundError:
                pass


@dataclass(frozen=True)
class ModelSnapshot:
    """What a request works with from start to end, whatever is published meanwhile."""

    version: str | None = None
    classifier: FaceClassifier | None = None
    metadata: dict = field(default_factory=dict)


class ModelWatcher:
    """One worker's in-memory model, swapped when CURRENT changes.

    `current()` is cheap: it reads the pointer at most every `poll_seconds`, loads a new version
    when the pointer moved, and otherwise returns the snapshot it holds. A request takes the
    snapshot once at its start, so requests in flight finish on the model they began with.
    A version rewritten in place (`forget`) is reloaded too. A version that fails to load is
    logged and the old model kept; the next poll tries again.
    """

    def __init__(self, store: ModelStore, poll_seconds: float = 1.0):
        self.store = store
        self.poll_seconds = poll_seconds
        self._snapshot = ModelSnapshot()
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self._reported_failure: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self) -> tuple[str | None, FaceClassifier | None]:
        snapshot = self.snapshot()
        return snapshot.version, snapshot.classifier

    def snapshot(self) -> ModelSnapshot:
        if time.monotonic() - self._checked_at >= self.poll_seconds:
            # Only the first load makes callers wait; later, one thread checks while the
            # others go on with the model they have.
            self._check(blocking=self._snapshot.classifier is None, force=False)
        return self._snapshot

    def refresh(self) -> ModelSnapshot:
        """Check the pointer now (at start-up, or to make readiness wait for the model)."""
        self._check(blocking=True, force=True)
        return self._snapshot

    def _check(self, blocking: bool, force: bool) -> None:
        if not self._lock.acquire(blocking=blocking):
            return
        try:
            if not force and time.monotonic() - self._checked_at < self.poll_seconds:
                return  # another thread checked while this one waited
            self._checked_at = time.monotonic()
            self._load_if_moved()
        finally:
            self._lock.release()

    def _load_if_moved(self) -> None:
        try:
            version = self.store.current_version()
            if version is None:
                return
            # The same version rewritten (a person forgotten) has a new sha256.
            held = self._snapshot.metadata.get("sha256")
            if (
                version == self._snapshot.version
                and self.store.metadata(version).get("sha256") == held
            ):
                return
            classifier, metadata = self.store.load(version)
        except (OSError, ValueError, NotFound) as error:
            if self._reported_failure != str(error):
                log.error("keeping model %s: %s", self._snapshot.version, error)
                self._reported_failure = str(error)
            return
        self._snapshot = ModelSnapshot(version, classifier, metadata)
        self._reported_failure = None
        log.info("loaded model %s", version)

    def start(self) -> None:
        """Also poll from a daemon thread, so no request pays for loading a new model.
        Start it in each worker after the fork (threads do not survive a fork)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self._check(blocking=True, force=True)
