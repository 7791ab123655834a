"""Training jobs, and the lease that lets one run at a time across every replica."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .errors import NotFound
from .models import Lock, TrainingJob
from .rows import columns
from .transactions import Transactions, retry_deadlocks, utc_now
from .validation import check_id

JOB_STATES = ("queued", "running", "succeeded", "failed")
FINISHED_JOB_STATES = ("succeeded", "failed")


# What a job answers, in this order.
_JOB_COLUMNS = (
    "id",
    "kind",
    "state",
    "created_at",
    "started_at",
    "finished_at",
    "model_version",
    "error",
)


def _job_dict(job: TrainingJob) -> dict:
    return columns(job, *_JOB_COLUMNS)


class TrainingQueries(Transactions):
    @retry_deadlocks
    def create_job(self, kind: str) -> dict:
        if not isinstance(kind, str) or not 1 <= len(kind) <= 32:
            raise ValueError("a job kind is a string of 1 to 32 characters")
        with self._transaction(write=True) as session:
            job = TrainingJob(kind=kind, state="queued", created_at=utc_now())
            session.add(job)
            session.flush()
            return _job_dict(job)

    @retry_deadlocks
    def update_job(
        self, job_id: int, state: str, *, error: str | None = None, model_version: str | None = None
    ) -> dict:
        """Move a job to `state`; the start and finish times are stamped on the way, and the
        `error` or published `model_version` kept when given."""
        if state not in JOB_STATES:
            raise ValueError(f"a job state is one of {JOB_STATES}, not {state!r}")
        with self._transaction(write=True) as session:
            job = session.get(TrainingJob, job_id)
            if job is None:
                raise NotFound(f"no job {job_id}")
            job.state = state
            if state == "running" and job.started_at is None:
                job.started_at = utc_now()
            if state in FINISHED_JOB_STATES:
                job.finished_at = utc_now()
            if error is not None:
                job.error = error
            if model_version is not None:
                job.model_version = model_version
            return _job_dict(job)

    @retry_deadlocks
    def fail_unfinished_jobs(self, error: str, keep: int | None = None) -> int:
        """Mark every queued or running job but `keep` as failed; returns how many.

        Call it right after taking the training lease: any other unfinished job belonged to a
        worker that died holding the lease, and would otherwise say "running" forever.
        """
        conditions = [TrainingJob.state.in_(("queued", "running"))]
        if keep is not None:
            conditions.append(TrainingJob.id != keep)
        with self._transaction(write=True) as session:
            return session.execute(
                update(TrainingJob)
                .where(*conditions)
                .values(state="failed", error=error, finished_at=utc_now())
                .execution_options(synchronize_session=False)
            ).rowcount

    def get_job(self, job_id: int) -> dict:
        with self._transaction() as session:
            job = session.get(TrainingJob, job_id)
            if job is None:
                raise NotFound(f"no job {job_id}")
            return _job_dict(job)

    # --- leases --------------------------------------------------------------------------

    def _lease_clock(self, session: Session) -> datetime:
        """The database's clock for MariaDB, so replicas with skewed clocks agree on expiry."""
        if self.dialect in ("mysql", "mariadb"):
            return session.scalar(text("SELECT UTC_TIMESTAMP(6)")).replace(tzinfo=UTC)
        return utc_now()

    @retry_deadlocks
    def try_acquire_lock(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Take the lease `name` for `ttl_seconds`: True if it was free, expired or already ours."""
        check_id(name, "lock name")
        try:
            with self._transaction(write=True) as session:
                now = self._lease_clock(session)
                expires = now + timedelta(seconds=ttl_seconds)
                taken = session.execute(
                    update(Lock)
                    .where(Lock.name == name, or_(Lock.expires_at <= now, Lock.holder == holder))
                    .values(holder=holder, acquired_at=now, expires_at=expires)
                    .execution_options(synchronize_session=False)
                ).rowcount
                if taken:
                    return True
                if session.get(Lock, name) is not None:
                    return False  # someone else's live lease
                session.add(Lock(name=name, holder=holder, acquired_at=now, expires_at=expires))
                return True
        except IntegrityError:
            return False  # another holder inserted the row first

    @retry_deadlocks
    def renew_lock(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Extend our lease; False if it is no longer ours (it expired and was taken over)."""
        with self._transaction(write=True) as session:
            now = self._lease_clock(session)
            return bool(
                session.execute(
                    update(Lock)
                    .where(Lock.name == name, Lock.holder == holder)
                    .values(expires_at=now + timedelta(seconds=ttl_seconds))
                    .execution_options(synchronize_session=False)
                ).rowcount
            )

    @retry_deadlocks
    def release_lock(self, name: str, holder: str) -> None:
        """Give the lease back (a no-op if it is not ours any more)."""
        with self._transaction(write=True) as session:
            session.execute(delete(Lock).where(Lock.name == name, Lock.holder == holder))
