"""Storage: people, images, embeddings, models, training jobs, leases, recognitions, API keys.

db = Database("sqlite:///var/facerec.db")     # or mysql+pymysql://user:pw@host/db
db.create_schema()
db.add_person("obama"); db.add_image("obama", jpeg_bytes, embedding, bundle_version)
"""

from .database import API_KEY_SCOPES, JOB_STATES, Database
from .errors import AlreadyExists, DatabaseUnavailable, ImageTooLarge, NotFound, StorageError
from .models import EMBEDDING_DIMS, MAX_ID_LENGTH

__all__ = [
    "API_KEY_SCOPES",
    "EMBEDDING_DIMS",
    "JOB_STATES",
    "MAX_ID_LENGTH",
    "AlreadyExists",
    "Database",
    "DatabaseUnavailable",
    "ImageTooLarge",
    "NotFound",
    "StorageError",
]
