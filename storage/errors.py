"""What the storage layer can go wrong with, in words the web layer maps to status codes."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error the storage layer raises on purpose."""


class NotFound(StorageError, LookupError):
    """The person, job, model or version asked for does not exist (-> 404)."""


class AlreadyExists(StorageError):
    """A row with that natural key is already there (-> 409)."""


class DatabaseUnavailable(StorageError):
    """The database did not answer (down, unreachable, locked): retry later (-> 503)."""


class ImageTooLarge(StorageError, ValueError):
    """The image is bigger than the database accepts in one statement (-> 413)."""
