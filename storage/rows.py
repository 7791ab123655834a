"""Rows as plain values: a `recognitions` row in the shape every listing of sightings returns,
and the helper that copies any row's columns."""

from __future__ import annotations

from .models import Recognition


def columns(row, *names: str | tuple[str, str]) -> dict:
    """`{name: row.name}` for each name, in that order; a pair (key, attribute) puts a column
    under another key: `("from", "from_label")`."""
    pairs = (name if isinstance(name, tuple) else (name, name) for name in names)
    return {key: getattr(row, attribute) for key, attribute in pairs}


def sighting_dict(row: Recognition) -> dict:
    """A recognition row as plain values (the shape of `Database.recognitions` rows)."""
    who = columns(row, "id", "person_id", "label", "confidence", "threshold")
    where = columns(row, "camera_id", "location_id")
    box = (row.box_left, row.box_top, row.box_right, row.box_bottom)
    when = columns(row, "model_version", "recognized_at", "unknown_group_id")
    return {**who, **where, "box": box, **when}
