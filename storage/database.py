"""`Database`: every query the service makes, behind one small facade.

The queries live by area, each a class over the shared plumbing in transactions.py: people.py
(people, images, embeddings), recognitions.py, sightings.py, tracks.py, unknowns.py (and the
operators' edits of them, unknown_edits.py), training_jobs.py (jobs and leases), api_keys.py
and audit.py.
`Database` is all of them at once, so callers hold one object: `db.add_person("obama")`.
"""

from __future__ import annotations

from .alerts import AlertStore
from .api_keys import ApiKeyQueries
from .audit import AuditStore
from .corrections import CorrectionStore
from .events import EventQueries
from .people import PeopleQueries
from .recognitions import RecognitionQueries
from .sightings import SightingStore
from .track_search import TrackSearch
from .tracks import TrackStore
from .training_jobs import TrainingQueries
from .unknown_edits import UnknownGroupEdits
from .unknowns import UnknownStore


class Database(
    PeopleQueries,
    RecognitionQueries,
    TrainingQueries,
    ApiKeyQueries,
    SightingStore,
    TrackStore,
    TrackSearch,
    UnknownStore,
    UnknownGroupEdits,
    EventQueries,
    AuditStore,
    AlertStore,
    CorrectionStore,
):
    """The storage facade. `url` is any SQLAlchemy URL: a SQLite file or mysql+pymysql://..."""
