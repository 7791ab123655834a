"""The configured API keys, held as HMAC-SHA256 digests: which scope a presented key has.

The keys in FACEREC_API_KEYS are the whole set: a key removed from it stops working when the
service restarts. Keys are looked up in memory only, so authentication never waits on the
database and a database outage cannot turn a wrong key into anything but 401.

The database's `api_keys` table mirrors the configured set for operators (which scopes, since
when), as digests under FACEREC_KEY_SECRET: a leaked table reveals no key and cannot be
brute-forced without the secret. Without a secret the table is left empty.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


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
