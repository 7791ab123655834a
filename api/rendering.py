"""How stored rows are shown in JSON: a sighting the same way on /recognitions, /events and
/unknowns; the people with their image counts on /dataset and /database/people."""

from __future__ import annotations

import math

from api import params, schemas


def face_url(recognition_id: int) -> str:
    return f"/recognitions/{recognition_id}/face"


def recognition_json(row: dict, has_face: bool) -> dict:
    return {
        "id": row["id"],
        "label": row["label"],
        "person_id": row["person_id"],
        "confidence": row["confidence"],
        "score": row["confidence"],
        "threshold": row["threshold"],
        "camera_id": row["camera_id"],
        "location_id": row["location_id"],
        "bounding_box": dict(zip(schemas.SIDES, row["box"], strict=True)),
        "model_version": row["model_version"],
        "recognized_at": params.iso(row["recognized_at"]),
        "face_url": face_url(row["id"]) if has_face else None,
    }


def people_counts(db) -> list[dict]:
    """Every enrolled person with the number of their images."""
    return [{"id_name": person, "number_of_images": n} for person, n in db.list_people()]


def page_json(key: str, items: list, query: dict, total: int) -> dict:
    """One page of a listing, as /recognitions and /tracks answer it."""
    page, per_page = query["page"], query["per_page"]
    return {
        key: items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page),
    }
