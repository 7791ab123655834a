"""API keys (`X-API-Key`) with three scopes, each granting what the one before it does:
`recognize` (recognition and reads), `review` (also the faces kept of sightings and search by
face: biometric data an edge device has no need for) and `admin` (all).

`requires` guards a route; the keys themselves are checked by the worker's KeyChecker (keys.py).
"""

from __future__ import annotations

import functools

from flask import g, request

from .errors import Forbidden, Unauthorized
from .keys import KeyChecker
from .service import current_service

HEADER = "X-API-Key"
RECOGNIZE, REVIEW, ADMIN = "recognize", "review", "admin"
# Which keys may do what a scope allows: admin everything, review all but admin's.
_GRANTS = {RECOGNIZE: {RECOGNIZE, REVIEW, ADMIN}, REVIEW: {REVIEW, ADMIN}, ADMIN: {ADMIN}}


def scope_allows(scope: str, needed: str) -> bool:
    """Whether a key of `scope` may do what `needed` allows (facerec-events asks too)."""
    return scope in _GRANTS[needed]


def _check(keys: KeyChecker, needed: str) -> None:
    """Raise 401 (no or unknown key) or 403 (key without the scope). The key's name, and
    whether it was refused, are left in `g` for the audit trail (api/audit.py)."""
    if not keys.enabled:
        return
    key = request.headers.get(HEADER, "")
    if not key:
        g.audit_refused = True
        raise Unauthorized(f"send an API key in the {HEADER} header", code="missing_api_key")
    found = keys.identify(key)
    if found is None:
        g.audit_refused, g.audit_who = True, "invalid-key"
        raise Unauthorized("the API key is not valid", code="invalid_api_key")
    scope, g.audit_who = found
    if not scope_allows(scope, needed):
        g.audit_refused = True
        raise Forbidden(f"this needs a key with the {needed!r} scope", code="forbidden")


def requires(scope: str):
    """Decorate a resource method: only callers holding `scope` get in."""

    def decorate(method):
        @functools.wraps(method)
        def guarded(*args, **kwargs):
            _check(current_service().keys, scope)
            return method(*args, **kwargs)

        return guarded

    return decorate
