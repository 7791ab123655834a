"""The shape every listing query has: one slice of the matching rows, and how many match."""

from __future__ import annotations

from sqlalchemy import func, select


def sliced(session, query, table, where=(), *, limit: int, offset: int = 0) -> tuple:
    """(the result of `query` filtered by `where`, at most `limit` rows from `offset`; how many
    rows of `table` match `where` in all). `query` brings its own columns and order."""
    total = session.scalar(select(func.count()).select_from(table).where(*where))
    return session.execute(query.where(*where).limit(limit).offset(offset)), total


def paged(session, query, table, where=(), *, page: int, per_page: int) -> tuple:
    """`sliced` by page number (from 1) and page size."""
    return sliced(session, query, table, where, limit=per_page, offset=(page - 1) * per_page)
