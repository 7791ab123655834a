"""How a recorded sighting is shown in JSON: the same fields on /recognitions, /events and
/unknowns."""

from __future__ import annotations

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
