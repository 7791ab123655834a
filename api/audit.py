"""The audit trail: who read biometric data or changed state, from where, and what came of it.

`POLICIES` is the one place that says, for every operation of the API, whether it reads
biometric data (`READ`: a face thumbnail, a search by face, an unknown group), changes state
(`CHANGE`) or neither (`NONE`, or `EXEMPT` for the recognition calls an edge makes every
frame, whose sightings are their own record). `record` runs after every request and writes
exactly one `audit_log` row for a READ or a CHANGE, and one for every refused key (401/403,
on any route). tests/api/test_audit.py walks /swagger.json: an operation missing from
`POLICIES` fails it, and a mutating method missing here is audited as a CHANGE anyway.

A READ fails closed: when its row cannot be written the data is not sent (503
`audit_unavailable`). A CHANGE has already happened by then, so its answer stands and the row
goes to the log at ERROR instead (docs/api.md, "Audit trail").
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from dataclasses import dataclass

from flask import Flask, g, jsonify, request

from .errors import error_body
from .service import current_service

log = logging.getLogger(__name__)

READ, CHANGE, NONE, EXEMPT = "read", "change", "none", "exempt"
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
NO_KEY, INVALID_KEY, AUTH_OFF = "no-key", "invalid-key", "auth-off"


@dataclass(frozen=True)
class Policy:
    kind: str
    # Form, query or JSON fields recorded as targets, besides the route's own path parameters.
    fields: tuple[str, ...] = ()
    why: str = ""  # for EXEMPT: what records it instead


def _read(*fields: str) -> Policy:
    return Policy(READ, fields)


def _change(*fields: str) -> Policy:
    return Policy(CHANGE, fields)


_NONE = Policy(NONE)
_SIGHTINGS = "the edge's calls: the sightings and track events they write are the record"

# (method, path as /swagger.json writes it) -> what an audit must know of it.
POLICIES: dict[tuple[str, str], Policy] = {
    ("GET", "/dataset"): _NONE,
    ("POST", "/dataset/{person_id}"): _change(),
    ("DELETE", "/dataset/{person_id}"): _change(),
    ("POST", "/dataset/{person_id}/image"): _change(),
    ("GET", "/dataset/{person_id}/images"): _NONE,  # sizes and qualities, no image
    ("GET", "/model"): _NONE,
    ("POST", "/model/train"): _change(),
    ("POST", "/model/optimized-train"): _change(),
    ("GET", "/model/jobs/{job_id}"): _NONE,
    ("POST", "/model/rollback"): _change("from"),
    ("POST", "/face-recognition/get-results"): Policy(EXEMPT, why="recognition, stores nothing"),
    ("POST", "/face-recognition/store-results"): Policy(EXEMPT, why=_SIGHTINGS),
    ("POST", "/face-recognition/dry-run"): Policy(EXEMPT, why="reads the upload, nothing else"),
    ("POST", "/face-recognition/verify"): _read("person_id"),  # an enrolee's faces, 1:1
    ("GET", "/tracks"): _NONE,
    ("GET", "/tracks/{camera_id}/{track_id}"): _NONE,
    ("POST", "/tracks/{camera_id}/{track_id}/end"): Policy(EXEMPT, why=_SIGHTINGS),
    ("GET", "/database/people"): _NONE,
    ("GET", "/database/{person_id}/last-known-location"): _NONE,
    ("GET", "/recognitions"): _NONE,  # rows and face URLs; the faces are read below
    ("GET", "/recognitions/{recognition_id}/face"): _read(),
    ("POST", "/recognitions/search"): _read("camera_id", "location_id", "since", "until"),
    ("GET", "/unknowns"): _read(),
    ("GET", "/unknowns/{group_id}"): _read(),
    ("DELETE", "/unknowns/{group_id}"): _change(),
    ("POST", "/unknowns/{group_id}/enrol"): _change("person_id"),
    ("POST", "/unknowns/{group_id}/merge"): _change("groups"),
    ("POST", "/unknowns/{group_id}/release"): _change("sightings"),
    # Who the group's faces look like, as enrolling it would warn: names and scores.
    ("POST", "/unknowns/{group_id}/look-alike-check"): _read("person_id"),
    ("GET", "/events"): _NONE,  # track events: labels, no faces
    ("POST", "/tracks/{camera_id}/{track_id}/label"): _change("kind", "person_id"),
    ("POST", "/tracks/{camera_id}/{track_id}/label/undo"): _change(),
    ("GET", "/tracks/{camera_id}/{track_id}/label"): _NONE,  # the label history, no face
    ("POST", "/recognitions/{recognition_id}/label"): _change("kind", "person_id"),
    ("POST", "/recognitions/{recognition_id}/label/undo"): _change(),
    ("POST", "/corrections/bulk"): _change("person_id"),
    ("GET", "/recognitions/{recognition_id}/label"): _NONE,
    ("GET", "/label-changes"): _NONE,
    ("GET", "/alerts"): _NONE,  # alert rows and face URLs; the faces are read above
    ("POST", "/alerts/{alert_id}/ack"): _change(),
    ("GET", "/alerts/rules"): _NONE,
    ("POST", "/alerts/rules"): _change(),
    ("DELETE", "/alerts/rules/{rule_id}"): _change(),
    ("GET", "/dataset/{person_id}/tags"): _NONE,
    # Names of the people a face or a person resembles, with scores: who looks like whom.
    ("POST", "/dataset/{person_id}/look-alike-check"): _read(),
    ("GET", "/dataset/{person_id}/look-alikes"): _read(),
    ("PUT", "/dataset/{person_id}/tags"): _change(),
    ("GET", "/audit"): _NONE,
    ("GET", "/console/config"): _NONE,
    ("GET", "/healthz"): _NONE,
    ("GET", "/readyz"): _NONE,
}

_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def spec_path(rule: str) -> str:
    """A Werkzeug rule as the OpenAPI spec writes it: /unknowns/<int:group_id> -> /unknowns/{group_id}."""
    return _CONVERTER.sub(r"{\1}", rule)


def policy_for(method: str, rule: str) -> Policy:
    """What a request must leave behind; an operation nobody classified is a CHANGE when its
    method can change anything, so a new route never silently escapes the trail."""
    method = "GET" if method == "HEAD" else method
    default = Policy(CHANGE) if method in MUTATING else _NONE
    return POLICIES.get((method, spec_path(rule)), default)


def client_address() -> str:
    """The caller's address (see `forwarded_address`)."""
    return forwarded_address(request.remote_addr, request.headers.get("X-Forwarded-For", ""))


def forwarded_address(remote: str | None, forwarded: str) -> str:
    """The caller's address: the pod's nginx (on loopback) appends it to X-Forwarded-For."""
    remote = remote or "-"
    try:
        loopback = ipaddress.ip_address(remote).is_loopback
    except ValueError:
        loopback = False
    if loopback and forwarded:
        return forwarded.rsplit(",", 1)[-1].strip() or remote
    return remote


def _json_fields() -> dict[str, str]:
    """A JSON object body's fields as targets: a list as its items joined by commas."""
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        return {}
    return {
        name: ",".join(map(str, value)) if isinstance(value, list) else str(value)
        for name, value in body.items()
        if value is not None
    }


def _targets(policy: Policy, status: int) -> dict[str, str]:
    targets = {name: str(value) for name, value in (request.view_args or {}).items()}
    sources = [request.args] if status == 413 else [request.args, request.form, _json_fields()]
    for field in policy.fields:
        for source in sources:
            if source.get(field) is not None:
                targets[field] = source.get(field)
    return targets


def _outcome(response) -> str:
    if response.status_code < 400:
        return "ok"
    body = response.get_json(silent=True) if response.is_json else None
    return str(body.get("error")) if isinstance(body, dict) and body.get("error") else "error"


def _entry(kind: str, response) -> dict:
    who = g.get("audit_who") or (AUTH_OFF if not current_service().keys.enabled else NO_KEY)
    return {
        "who": who,
        "address": client_address(),
        "method": request.method,
        "route": spec_path(request.url_rule.rule),
        "kind": kind,
        "status": response.status_code,
        "outcome": _outcome(response),
    }


def record(response):
    """after_request: one row for an audited request (see the module's docstring)."""
    if request.url_rule is None or request.method == "OPTIONS":
        return response
    policy = policy_for(request.method, request.url_rule.rule)
    kind = "refused" if g.get("audit_refused") else policy.kind
    if kind not in (READ, CHANGE, "refused"):
        return response
    entry = _entry(kind, response)
    targets = _targets(policy, response.status_code)
    try:
        current_service().db.record_audit(entry, targets)
    except Exception as error:  # noqa: BLE001 - any failure: the row is not written
        log.error("audit row not written (%s): %s", error, json.dumps({**entry, **targets}))
        if kind == READ:
            return _unavailable()
    return response


def _unavailable():
    response = jsonify(
        error_body(
            "audit_unavailable",
            "biometric data is only shown when the read can be recorded; retry in a few seconds",
        )
    )
    response.status_code = 503
    return response


def install(app: Flask) -> None:
    app.after_request(record)
