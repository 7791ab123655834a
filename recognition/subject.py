"""Which face a photo is *of*: the one that clearly dominates it.

Real enrolment photos have bystanders, a portrait on the wall, a crowd behind the speaker. The
subject is the largest face when it is clearly the largest (visible area at least `AREA_MARGIN` times the
next one); among faces of similar size, the one nearest the centre when it is clearly the nearest.
Two faces that are equally plausible (a couple, side by side) have no subject: the caller refuses
the photo rather than enrol the wrong person.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

AREA_MARGIN = 1.5  # ~1.22x the side: bystanders are smaller, and MTCNN's boxes vary less than that
CENTRE_MARGIN = 1.5  # the nearest face must be this much nearer the centre than the next


def _visible_area(box, width: int, height: int) -> float:
    """The area inside the image: a bystander cut by the frame's edge counts for what shows."""
    visible_width = min(box[2], width) - max(box[0], 0.0)
    visible_height = min(box[3], height) - max(box[1], 0.0)
    return max(visible_width, 0.0) * max(visible_height, 0.0)


def _centre_distance(box, width: int, height: int) -> float:
    return math.hypot((box[0] + box[2] - width) / 2, (box[1] + box[3] - height) / 2)


def choose_subject(boxes: Sequence[Sequence[float]], width: int, height: int) -> int | None:
    """The index of the subject's box (left, top, right, bottom), or None when no face clearly is."""
    if not boxes:
        return None
    areas = [_visible_area(box, width, height) for box in boxes]
    by_area = sorted(range(len(boxes)), key=lambda i: areas[i], reverse=True)
    contenders = [i for i in by_area if areas[i] * AREA_MARGIN > areas[by_area[0]]]
    if len(contenders) == 1:
        return contenders[0]
    by_centre = sorted(contenders, key=lambda i: _centre_distance(boxes[i], width, height))
    nearest, runner_up = (_centre_distance(boxes[i], width, height) for i in by_centre[:2])
    return by_centre[0] if runner_up > CENTRE_MARGIN * nearest else None
