"""Training jobs: fit a new classifier and publish it, one job at a time across every replica.

A job runs in a background thread of the worker that received the request. It holds the
database lease `training` for its whole run (renewed while it works), so a second request on any
replica gets a 409 instead of a second, racing model; if the worker dies the lease expires and
the next job takes over, failing the orphaned job row on its way. A worker that shuts down
stops its job at the next image (or before publishing), fails it and releases the lease.

Two kinds:
- `train`: re-embed every stored image with the current bundle, then fit (after a bundle change);
- `optimized-train`: fit from the embeddings already stored for the current bundle (fast).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from recognition import FaceAnalyzer, FaceClassifier, InvalidImage, load_image
from recognition.calibration import decision_threshold
from recognition.gallery import DEFAULT_HNSW_THRESHOLD
from storage import NotFound
from workers.periodic import lease_holder

if TYPE_CHECKING:
    from storage import Database
    from storage.model_store import ModelStore

log = logging.getLogger(__name__)

LOCK_NAME = "training"
KINDS = ("train", "optimized-train")


class TrainingBusy(Exception):
    """Another job (on this or another replica) holds the training lease."""


class NothingToTrain(ValueError):
    """No embeddings for the current bundle: an expected failure, not a bug."""


class LeaseLost(Exception):
    """The lease expired under a running job and someone else took it: do not publish."""


class JobStopped(Exception):
    """The worker is shutting down: the job ends now, failed, without publishing."""


class TrainingJob:
    """One running job: its row id, its thread, and the lease it keeps alive."""

    def __init__(self, trainer: Trainer, job: dict, holder: str):
        self.trainer = trainer
        self.job = job
        self.holder = holder
        self.thread = threading.Thread(target=self._run, name=f"training-{job['id']}", daemon=True)
        self._done = threading.Event()
        self._lease_lost = threading.Event()
        self._stop_reason: str | None = None

    @property
    def id(self) -> int:
        return self.job["id"]

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def stop(self, reason: str) -> None:
        """Ask the job to end at its next check; it is then failed with `reason`."""
        self._stop_reason = reason

    def finish_stopping(self, timeout: float) -> None:
        """Wait up to `timeout` for a stopped job to end; if it has not, fail it and release
        the lease from here (its thread dies with the process and must not be waited for)."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            self._fail(self._stop_reason or "the worker shut down")
            self._release()

    def _renew_lease(self) -> None:
        ttl = self.trainer.lease_seconds
        while not self._done.wait(ttl / 3):
            try:
                if not self.trainer.db.renew_lock(LOCK_NAME, self.holder, ttl):
                    self._lease_lost.set()
                    return
            except Exception:  # a database blip: try again next period, the lease has slack
                log.warning("could not renew the training lease", exc_info=True)

    def _check_lease(self) -> None:
        """Called between steps: raise if the job must not go on (lease lost, shutting down)."""
        if self._stop_reason is not None:
            raise JobStopped(self._stop_reason)
        if self._lease_lost.is_set():
            raise LeaseLost("the training lease expired and was taken over; nothing published")

    def _fail(self, error: str) -> None:
        try:
            self.trainer.db.update_job(self.id, state="failed", error=error[:1000])
        except Exception:
            log.exception("could not mark training job %s failed", self.id)

    def _release(self) -> None:
        try:
            self.trainer.db.release_lock(LOCK_NAME, self.holder)
        except Exception:
            log.warning("could not release the training lease (it expires)", exc_info=True)

    def _run(self) -> None:
        db = self.trainer.db
        renewer = threading.Thread(target=self._renew_lease, name="training-lease", daemon=True)
        renewer.start()
        try:
            db.update_job(self.id, state="running")
            version = self.trainer.fit_and_publish(self.job, self._check_lease)
            db.update_job(self.id, state="succeeded", model_version=version)
            log.info("training job %s (%s) published model %s", self.id, self.job["kind"], version)
        except Exception as error:
            if isinstance(error, NothingToTrain | LeaseLost | JobStopped):
                log.warning("training job %s failed: %s", self.id, error)
            else:
                log.exception("training job %s failed", self.id)
            self._fail(str(error) or repr(error))
        finally:
            self._done.set()
            renewer.join()
            self._release()


@dataclass(eq=False)
class Trainer:
    """Starts jobs; `analyzer` is a callable so the networks are loaded only when needed."""

    db: Database
    store: ModelStore
    analyzer: Callable[[], FaceAnalyzer]
    max_image_pixels: int
    false_accept_rate: float = 0.01
    match_threshold: float | None = None
    hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD
    lease_seconds: float = 30.0
    on_published: Callable[[str], None] | None = None

    def start(self, kind: str) -> TrainingJob:
        """Take the lease, create the job row and start its thread; TrainingBusy if taken."""
        if kind not in KINDS:
            raise ValueError(f"a training kind is one of {KINDS}")
        holder = lease_holder()
        if not self.db.try_acquire_lock(LOCK_NAME, holder, self.lease_seconds):
            raise TrainingBusy("another training job is running; try again when it is done")
        try:
            job = self.db.create_job(kind)
            # Any other unfinished job belonged to a worker that died holding the lease.
            self.db.fail_unfinished_jobs("its worker stopped before it finished", keep=job["id"])
        except Exception:
            self.db.release_lock(LOCK_NAME, holder)
            raise
        running = TrainingJob(self, job, holder)
        running.thread.start()
        return running

    def fit_and_publish(self, job: dict, check_lease: Callable[[], None]) -> str:
        analyzer = self.analyzer()
        if job["kind"] == "train":
            self._reembed(analyzer, check_lease)
        embeddings, labels = self.db.training_set(analyzer.embedding_space)
        if len(labels) == 0:
            raise NothingToTrain("there is nothing to train on: enrol people with images first")
        threshold = decision_threshold(
            analyzer.embedder.name, len(set(labels)), self.false_accept_rate, self.match_threshold
        )
        classifier = FaceClassifier.fit(
            embeddings,
            labels,
            threshold=threshold,
            embedding_space=analyzer.embedding_space,
            hnsw_threshold=self.hnsw_threshold,
            negatives=self.db.training_negatives(analyzer.embedding_space),  # "not X" corrections
        )
        check_lease()
        trained_at = datetime.now(UTC)
        version = self.store.publish(
            classifier,
            {
                "job_id": job["id"],
                "kind": job["kind"],
                "trained_at": trained_at,
                "bundle_version": analyzer.bundle_version,
                "embedding_space": analyzer.embedding_space,
                "images": len(labels),
                "threshold": threshold,
                "negatives": len(classifier.negatives),
                # Above FACEREC_HNSW_THRESHOLD faces a search has two stages: say which one serves.
                "gallery_index": classifier.gallery.index,
            },
        )
        if self.on_published is not None:
            self.on_published(version)
        return version

    def _reembed(self, analyzer: FaceAnalyzer, check_lease: Callable[[], None]) -> None:
        """Embed every stored image again with the current networks (the photo's subject)."""
        for image_id, person_id, data in self.db.iter_images():
            check_lease()
            try:
                _, chosen, embedding = analyzer.subject(load_image(data, self.max_image_pixels))
            except InvalidImage as error:
                log.warning("image %s of %s is unreadable: %s", image_id, person_id, error)
                continue
            if chosen is None:
                log.warning("no clear face found again in image %s of %s", image_id, person_id)
                continue
            try:
                self.db.replace_embedding(image_id, embedding, analyzer.embedding_space)
            except NotFound:  # deleted (with its person) since it was read: nothing to train on
                log.info("image %s of %s was deleted during the job; skipped", image_id, person_id)
