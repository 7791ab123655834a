"""A `recognitions` row as plain values, the shape every listing of sightings returns."""

from __future__ import annotations

from .models import Recognition


def sighting_dict(row: Recognition) -> dict:
    """A recognition row as plain values (the shape of `Database.recognitions` rows)."""
    return {
        "id": row.id,
        "person_id": row.person_id,
        "label": row.label,
        "confidence": row.confidence,
        "threshold": row.threshold,
        "camera_id": row.camera_id,
        "location_id": row.location_id,
        "box": (row.box_left, row.box_top, row.box_right, row.box_bottom),
        "model_version": row.model_version,
        "recognized_at": row.recognized_at,
        "unknown_group_id": row.unknown_group_id,
    }
