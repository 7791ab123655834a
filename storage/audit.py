"""The audit trail: one append-only row per read of biometric data, change or refused key.

Rows are only ever inserted (`record_audit`) and, past retention, deleted (`purge_audit`):
nothing here updates one, and no route deletes one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, select

from .models import MAX_ID_LENGTH
from .operator_models import AuditEntry, AuditTarget
from .paging import page_in
from .transactions import Transactions, retry_deadlocks, utc_now
from .validation import aware, check_page

AUDIT_KINDS = ("read", "change", "refused")
MAX_AUDIT_PAGE = 500
_COLUMNS = ("who", "address", "method", "route", "kind", "status", "outcome")


def _clip(value, length: int) -> str:
    """Audit values echo what a client sent: kept, but never longer than their column."""
    return str(value)[:length]


def _entry_dict(entry: AuditEntry, targets: dict[str, str]) -> dict:
    row = {"id": entry.id, "at": entry.at}
    row.update({column: getattr(entry, column) for column in _COLUMNS})
    row["targets"] = targets
    return row


class AuditStore(Transactions):
    @retry_deadlocks
    def record_audit(self, entry: dict, targets: dict[str, str]) -> int:
        """Append one row and its targets in one transaction; its id."""
        if entry["kind"] not in AUDIT_KINDS:
            raise ValueError(f"an audit row's kind is one of {AUDIT_KINDS}")
        row = AuditEntry(
            at=entry.get("at") or utc_now(),
            who=_clip(entry["who"], MAX_ID_LENGTH),
            address=_clip(entry["address"], 64),
            method=_clip(entry["method"], 8),
            route=_clip(entry["route"], 255),
            kind=entry["kind"],
            status=int(entry["status"]),
            outcome=_clip(entry["outcome"], MAX_ID_LENGTH),
        )
        with self._transaction(write=True) as session:
            session.add(row)
            session.flush()
            for name, value in targets.items():
                session.add(
                    AuditTarget(audit_id=row.id, name=_clip(name, 32), value=_clip(value, 64))
                )
            return row.id

    def audit_page(
        self,
        *,
        who: str | None = None,
        route: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> tuple[list[dict], int]:
        """One page of the trail, newest first, and how many rows match in all. `route` is a
        prefix of the rule (`/unknowns` finds every unknowns route); `target` a target's value."""
        check_page(page, per_page, MAX_AUDIT_PAGE)
        conditions = _audit_filters(who, route, target, since, until)
        newest = select(AuditEntry).order_by(AuditEntry.id.desc())
        return page_in(
            self._transaction, newest, AuditEntry, conditions, page=page, per_page=per_page,
            rows=_entries,
        )  # fmt: skip

    def purge_audit(self, before: datetime) -> int:
        """Delete the rows written before `before` (retention); how many."""
        before = aware(before, "before")
        with self._transaction(write=True) as session:
            return session.execute(delete(AuditEntry).where(AuditEntry.at < before)).rowcount


def _audit_filters(who, route, target, since, until) -> list:
    conditions = []
    if who is not None:
        conditions.append(AuditEntry.who == who)
    if route is not None:
        escaped = route.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(AuditEntry.route.like(escaped + "%", escape="\\"))
    if target is not None:
        conditions.append(
            exists().where(AuditTarget.audit_id == AuditEntry.id, AuditTarget.value == target)
        )
    if since is not None:
        conditions.append(AuditEntry.at >= aware(since, "since"))
    if until is not None:
        conditions.append(AuditEntry.at < aware(until, "until"))
    return conditions


def _entries(session, result) -> list[dict]:
    """A page of the trail, each row with its targets."""
    entries = result.scalars().all()
    targets = _targets_of(session, [entry.id for entry in entries])
    return [_entry_dict(entry, targets.get(entry.id, {})) for entry in entries]


def _targets_of(session, ids: list[int]) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    if not ids:
        return found
    rows = session.execute(select(AuditTarget).where(AuditTarget.audit_id.in_(ids))).scalars()
    for target in rows:
        found.setdefault(target.audit_id, {})[target.name] = target.value
    return found
