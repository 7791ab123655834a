"""`/audit`: the audit trail (api/audit.py), for admins only, filtered and paged. Read-only: no
route of the API alters or deletes a row; retention does (FACEREC_AUDIT_RETENTION_DAYS)."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource, fields

from api import params, schemas
from api.auth import ADMIN
from api.errors import BadRequest
from api.rendering import page_json
from api.routes._shared import documented
from api.service import current_service
from storage.audit import MAX_AUDIT_PAGE

ns = Namespace("audit", description="Who read biometric data or changed what", path="/audit")

entry = ns.model(
    "AuditEntry",
    {
        "id": fields.Integer(required=True),
        "at": fields.DateTime(required=True),
        "who": fields.String(required=True, description="the key's name, never the key"),
        "address": fields.String(required=True, description="the client's address"),
        "method": fields.String(required=True),
        "route": fields.String(required=True, description="as in the spec: /unknowns/{group_id}"),
        "kind": fields.String(required=True, enum=["read", "change", "refused"]),
        "status": fields.Integer(required=True, description="the HTTP status answered"),
        "outcome": fields.String(required=True, description='"ok" or the error\'s code'),
        "targets": fields.Raw(required=True, description="what it was about: {name: value}"),
    },
)
audit_page = schemas.page_of("AuditPage", "entries", entry)
ns.add_model(audit_page.name, audit_page)

filters = ns.parser()
filters.add_argument("who", location="args", help="a key's name (or no-key, invalid-key)")
filters.add_argument("route", location="args", help="a route or its start, e.g. /unknowns")
filters.add_argument("target", location="args", help="a target's value: a person or group id")
filters.add_argument("since", location="args", help="at or after (ISO 8601)")
filters.add_argument("until", location="args", help="before (ISO 8601)")
schemas.paging_arguments(filters, MAX_AUDIT_PAGE)


def _text(name: str, longest: int) -> str | None:
    value = request.args.get(name)
    if value is not None and not 1 <= len(value) <= longest:
        raise BadRequest(f"{name} must be 1 to {longest} characters", code="invalid_parameter")
    return value


def _query() -> dict:
    return {
        "who": _text("who", 64),
        "route": _text("route", 255),
        "target": _text("target", 64),
        "since": params.timestamp(request.args, "since"),
        "until": params.timestamp(request.args, "until"),
        **params.paging(request.args, MAX_AUDIT_PAGE),
    }


@ns.route("")
class AuditTrail(Resource):
    @documented(ns, ADMIN, 400, 503, expect=filters)
    @ns.response(200, "One page, newest first", audit_page)
    def get(self):
        """The audit trail filtered by who, route, target and time, a page at a time."""
        query = _query()
        rows, total = current_service().db.audit_page(**query)
        for row in rows:
            row["at"] = params.iso(row["at"])
        return page_json("entries", rows, query, total)
