"""What the route modules share: the one decorator a guarded operation wears, routes whose path
names a person or a track, and a page of the listings filtered by person, camera and time."""

from __future__ import annotations

from flask import request

from api import params, schemas
from api.auth import requires
from api.rendering import page_json
from api.tracking import TRACK_ID_RULE
from storage.validation import MAX_PER_PAGE

AUTH_ERRORS = (401, 403)  # what `requires` answers: no key or an unknown one, too little scope
PERSON_PATH = "<string:person_id>"
TRACK_PATH = "<string:camera_id>/<string:track_id>"  # a track: its camera's id and its own


def documented(namespace, scope: str, *errors: int, expect=None):
    """Guard a resource method with `requires(scope)` and document it in `namespace`: its JSON
    error answers (`errors`, with the 401 and 403 of the key check) and, if it reads a form, a
    query string or a body, what it `expect`s (a parser or a model). The success answer stays
    an `@ns.response` of its own, next to it."""

    def decorate(method):
        method = schemas.errors(namespace, *AUTH_ERRORS, *errors)(method)
        if expect is not None:
            method = namespace.expect(expect)(method)
        return requires(scope)(method)

    return decorate


def id_route(namespace, path: str, ids: dict[str, dict]):
    """`namespace.route(path)` with the path's `ids` documented."""

    def decorate(resource):
        for name, doc in reversed(ids.items()):
            resource = namespace.param(name, **doc)(resource)
        return namespace.route(path)(resource)

    return decorate


def person_route(namespace, path: str):
    """A route whose path names a person (`PERSON_PATH` in it)."""
    pattern = params.ID_PATTERN.pattern
    person = {"description": params.ID_RULE, "pattern": pattern, "maxLength": 64}
    return id_route(namespace, path, {"person_id": person})


def track_route(namespace, path: str):
    """A route whose path names a track (`TRACK_PATH` in it)."""
    ids = {"camera_id": {"description": params.ID_RULE}, "track_id": {"description": TRACK_ID_RULE}}
    return id_route(namespace, path, ids)


def filtered_page(key: str, read, show) -> dict:
    """One page of a listing filtered by person, camera and time (GET /tracks, /recognitions):
    the query string checked (params.listing), `read(**query)` gives the page's rows and the
    total, `show(rows)` their JSON, under `key`."""
    query = params.listing(request.args, MAX_PER_PAGE)
    rows, total = read(**query)
    return page_json(key, show(rows), query, total)
