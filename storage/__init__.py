"""Storage: people, images, embeddings, training jobs, leases, recognitions, API keys.

db = Database("sqlite:///var/facerec.db")     # or mysql+pymysql://user:pw@host/db
db.create_schema()
db.add_person("obama"); db.add_image("obama", jpeg_bytes, embedding, bundle_version)
"""

from .database import Database
from .errors import AlreadyExists, DatabaseUnavailable, ImageTooLarge, NotFound, StorageError
from .models import MAX_ID_LENGTH
from .recognitions import Segment
from .tracks import TrackCropInfo

__all__ = [
    "MAX_ID_LENGTH",
    "AlreadyExists",
    "Database",
    "DatabaseUnavailable",
    "ImageTooLarge",
    "NotFound",
    "Segment",
    "TrackCropInfo",
    "StorageError",
]
