"""API keys (`X-API-Key`) with two scopes: `recognize` (recognition and reads) and `admin` (all).

The keys in FACEREC_API_KEYS are the whole set: a key removed from it stops working when the
service restarts. Requests are checked in memory only, so authentication never waits on the
database and a database outage cannot turn a wrong key into anything but 401.

The database's `api_keys` table mirrors the configured set for operators (which scopes, since
when), as HMAC-SHA256 digests under FACEREC_KEY_SECRET: a leaked table reveals no key and cannot
be brute-forced without the secret. Without a secret the table is left empty.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets

from flask import current_app, g, request

from .errors import Forbidden, Unauthorized

log = logging.getLogger(__name__)

HEADER = "X-API-Key"
RECOGNIZE, ADMIN = "recognize", "admin"
# An admin key may do everything a recognize key may.
_GRANTS = {RECOGNIZE: {RECOGNIZE, ADMIN}, ADMIN: {ADMIN}}


def key_digest(key: str, secret: bytes) -> str:
    """HMAC-SHA256 of a key under the server secret, as 64 hex characters."""
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


class KeyChecker:
    """Holds the digests of the configured keys and answers which scope a presented key has."""

    def __init__(
        self,
        enabled: bool,
        keys: tuple[tuple[str, str], ...],
        db,
        secret: str | None = None,
    ):
        self.enabled = enabled
        self.db = db
        self._persistent = secret is not None
        # Without a configured secret, a per-process one: digests in memory still hide the keys.
        self._secret = secret.encode() if secret is not None else secrets.token_bytes(32)
        self._scopes = {key_digest(key, self._secret): scope for scope, key in keys}

    def store_configured(self) -> None:
        """Make the database's `api_keys` table exactly the configured set (empty without a
        secret), dropping revoked keys and the unkeyed sha256 digests older versions wrote."""
        digests = self._scopes.items() if self._persistent else ()
        self.db.set_api_keys((scope, digest) for digest, scope in digests)

    def scope_of(self, key: str) -> str | None:
        return self._scopes.get(key_digest(key, self._secret))

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
