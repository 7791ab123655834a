"""The HTTP layer: namespaces per area, errors, API keys, metrics, parameter parsing."""

from .database import ns as database
from .database import recognitions_ns as recognitions
from .dataset import ns as dataset
from .health import ns as health
from .model import ns as model
from .recognition import ns as face_recognition
from .sightings import SightingSearch  # noqa: F401  (adds /recognitions/search and .../face)
from .verification import Verify  # noqa: F401  (adds /face-recognition/verify)

NAMESPACES = (dataset, model, face_recognition, database, recognitions, health)

__all__ = ["NAMESPACES"]
