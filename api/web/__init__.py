"""The HTTP layer: namespaces per area, errors, API keys, metrics, parameter parsing."""

from .database import ns as database
from .database import recognitions_ns as recognitions
from .dataset import ns as dataset
from .events import ns as events
from .health import ns as health
from .model import ns as model
from .recognition import ns as face_recognition
from .sightings import SightingSearch  # noqa: F401  (adds /recognitions/search and .../face)
from .unknowns import ns as unknowns
from .verification import Verify  # noqa: F401  (adds /face-recognition/verify)

NAMESPACES = (dataset, model, face_recognition, database, recognitions, unknowns, events, health)

__all__ = ["NAMESPACES"]
