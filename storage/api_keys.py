"""The `api_keys` table: the configured keys' digests, mirrored for operators (api/keys.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import delete

from .operator_models import ApiKey, ApiKeyName
from .transactions import Transactions, retry_deadlocks, utc_now

# recognize: recognition and reads; review: also faces kept and search by face; admin: all.
API_KEY_SCOPES = ("recognize", "review", "admin")
KEY_DIGEST = re.compile(r"[0-9a-f]{64}")


def _key_digest(digest: str) -> str:
    """API keys arrive as HMAC-SHA256 hex digests (api/keys.py), never as keys."""
    if not isinstance(digest, str) or not KEY_DIGEST.fullmatch(digest):
        raise ValueError("an API key digest is 64 lowercase hex characters")
    return digest


class ApiKeyQueries(Transactions):
    @retry_deadlocks
    def set_api_keys(self, digests: Iterable[tuple[str, ...]]) -> None:
        """Make (scope, key digest[, name]) the whole table, in one transaction: a key left out
        of the configuration is gone. Only digests are stored (the column predates HMAC); a
        name goes to `api_key_names`, so rows of keys without one stay valid."""
        entries = [(scope, _key_digest(digest), *name) for scope, digest, *name in digests]
        for scope, *_rest in entries:
            if scope not in API_KEY_SCOPES:
                raise ValueError(f"an API key scope is one of {API_KEY_SCOPES}, not {scope!r}")
        now = utc_now()
        with self._transaction(write=True) as session:
            session.execute(delete(ApiKeyName))
            session.execute(delete(ApiKey))
            for digest, (scope, *name) in {e[1]: (e[0], *e[2:]) for e in entries}.items():
                session.add(ApiKey(key_sha256=digest, scope=scope, created_at=now))
                if name:
                    session.add(ApiKeyName(key_sha256=digest, name=name[0]))
