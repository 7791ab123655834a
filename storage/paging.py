"""The shape every listing query has: one slice of the matching rows, and how many match."""

from __future__ import annotations

from sqlalchemy import func, select

from .validation import Listing


def sliced(session, query, table, where=(), *, limit: int, offset: int = 0) -> tuple:
    """(the result of `query` filtered by `where`, at most `limit` rows from `offset`; how many
    rows of `table` match `where` in all). `query` brings its own columns and order."""
    total = session.scalar(select(func.count()).select_from(table).where(*where))
    return session.execute(query.where(*where).limit(limit).offset(offset)), total


def paged(session, query, table, where=(), *, page: int, per_page: int) -> tuple:
    """`sliced` by page number (from 1) and page size."""
    return sliced(session, query, table, where, limit=per_page, offset=(page - 1) * per_page)


def page_in(transaction, query, table, where=(), *, page: int, per_page: int, rows) -> tuple:
    """`paged` in a read transaction of its own (`transaction`: a store's `_transaction`):
    (the page as `rows(session, result)` makes it, how many rows match in all)."""
    with transaction() as session:
        result, total = paged(session, query, table, where, page=page, per_page=per_page)
        return rows(session, result), total


def listed(transaction, query, table, filters: dict, *, at: str, rows) -> tuple:
    """`page_in` for a listing of sightings or tracks: `filters` are a `Listing`'s (person,
    camera, since, until, page, per_page; a ValueError, before any query, when one is out of
    range), `at` the table's time column they bound."""
    listing = Listing(**filters)
    where = listing.where(table, at)
    return page_in(
        transaction, query, table, where, page=listing.page, per_page=listing.per_page, rows=rows
    )
