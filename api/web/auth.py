"""API keys (`X-API-Key`) with two scopes: `recognize` (recognition and reads) and `admin` (all).

Keys are compared by their sha256: the configured ones in memory, so recognition keeps working
when the database is down, and any others through the database (`api_keys` table).
"""

from __future__ import annotations

import functools
import hashlib
import logging

from flask import current_app, g, request

from .errors import Forbidden, Unauthorized

log = logging.getLogger(__name__)

HEADER = "X-API-Key"
RECOGNIZE, ADMIN = "recognize", "admin"
# An admin key may do everything a recognize key may.
_GRANTS = {RECOGNIZE: {RECOGNIZE, ADMIN}, ADMIN: {ADMIN}}


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyChecker:
    """Knows the configured keys (hashed) and asks the database about the rest."""

    def __init__(self, enabled: bool, keys: tuple[tuple[str, str], ...], db):
        self.enabled = enabled
        self.db = db
        self._configured = {_digest(key): scope for scope, key in keys}

    def store_configured(self, keys: tuple[tuple[str, str], ...]) -> None:
        for scope, key in keys:
            self.db.add_api_key(scope, key)

    def scope_of(self, key: str) -> str | None:
        scope = self._configured.get(_digest(key))
        return scope if scope is not None else self.db.find_api_key_scope(key)

    def check(self, needed: str) -> None:
        """Raise 401 (no or unknown key) or 403 (key without the scope)."""
        if not self.enabled:
            return
        key = request.headers.get(HEADER, "")
        if not key:
            raise Unauthorized(f"send an API key in the {HEADER} header", code="missing_api_key")
        scope = self.scope_of(key)
        if scope is None:
            raise Unauthorized("the API key is not valid", code="invalid_api_key")
        if scope not in _GRANTS[needed]:
            raise Forbidden(f"this needs a key with the {needed!r} scope", code="forbidden")
        g.api_scope = scope


def requires(scope: str):
    """Decorate a resource method: only callers holding `scope` get in."""

    def decorate(method):
        @functools.wraps(method)
        def guarded(*args, **kwargs):
            current_app.extensions["facerec"].keys.check(scope)
            return method(*args, **kwargs)

        return guarded

    return decorate
