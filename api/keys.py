"""The configured API keys, held as HMAC-SHA256 digests: which scope a presented key has.

The keys in FACEREC_API_KEYS are the whole set: a key removed from it stops working when the
service restarts. Keys are looked up in memory only, so authentication never waits on the
database and a database outage cannot turn a wrong key into anything but 401.

Every key has a name, the one the audit trail shows (never the key): `scope:name:key` names it;
an older `scope:key` entry gets `<scope>-<first 8 hex of sha256(key)>`, stable across restarts.

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


def key_name(scope: str, key: str) -> str:
    """The name of a key configured without one: its scope and a short, stable fingerprint
    (32 bits of sha256 reveal nothing usable of a 96-bit key)."""
    return f"{scope}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


class KeyChecker:
    """Holds the digests of the configured keys and answers which scope a presented key has."""

    def __init__(
        self,
        enabled: bool,
        keys: tuple[tuple[str, ...], ...],
        db,
        secret: str | None = None,
    ):
        self.enabled = enabled
        self.db = db
        self._persistent = secret is not None
        # Without a configured secret, a per-process one: digests in memory still hide the keys.
        self._secret = secret.encode() if secret is not None else secrets.token_bytes(32)
        self._keys = {
            key_digest(key, self._secret): (scope, name[0] if name else key_name(scope, key))
            for scope, key, *name in keys
        }

    def store_configured(self) -> None:
        """Make the database's `api_keys` table exactly the configured set (empty without a
        secret), dropping revoked keys and the unkeyed sha256 digests older versions wrote."""
        digests = self._keys.items() if self._persistent else ()
        self.db.set_api_keys((scope, digest, name) for digest, (scope, name) in digests)

    def identify(self, key: str) -> tuple[str, str] | None:
        """(scope, name) of a configured key; None for any other."""
        return self._keys.get(key_digest(key, self._secret))
