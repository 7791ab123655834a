"""`/alerts`: rules that say who, where and when deserves an alert, and the alerts they raised.

A rule is checked in the transaction that writes a track's 'start' or 'label' event (on the
replica that received the crop, storage/alerts.py), so it fires once per track, never once per
frame; its alert is an `event: alert` on /events, a signed POST to the rule's destination
(workers/alert_webhooks.py, which refuses loopback, link-local and private destinations unless they
are allowed) and a row here until someone acknowledges it.
"""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource, fields

from api import params, schemas
from api.auth import ADMIN, REVIEW
from api.errors import BadRequest, Conflict, Unprocessable
from api.rendering import alert_json, track_json
from api.routes._shared import documented
from api.service import current_service
from storage.alert_rules import MAX_COOLDOWN_SECONDS, parse_spec
from workers.alert_webhooks import RefusedDestination, check_destination

ns = Namespace("alerts", description="Alert rules and the alerts they raised", path="/alerts")

MAX_RULES = 200  # every rule is read for each track event
DEFAULT_COOLDOWN_SECONDS = 60.0
RULE_FIELDS = {"name", "destination", "cooldown_seconds", "people", "tags", "unknown"}
RULE_FIELDS |= {"unknown_groups", "cameras", "locations", "weekdays", "start", "end"}

_ids = fields.List(fields.String, description="any of these; empty: no condition")
rule_fields = {
    "name": fields.String(required=True, description="1-128 characters"),
    "people": _ids,
    "tags": fields.List(
        fields.String, description="people with any of these tags (PUT /dataset/<id>/tags)"
    ),
    "unknown": fields.Boolean(description="true: any stranger"),
    "unknown_groups": fields.List(
        fields.Integer, description="strangers of these /unknowns groups"
    ),
    "cameras": _ids,
    "locations": _ids,
    "weekdays": fields.List(fields.String, description="mon..sun; empty: every day"),
    "start": fields.String(description="HH:MM, site time (FACEREC_SITE_TIMEZONE)"),
    "end": fields.String(description="HH:MM; before start: the window crosses midnight"),
    "cooldown_seconds": fields.Float(description="0 to 604800, default 60"),
    "destination": fields.String(description="https URL (or an allowed host) to POST alerts to"),
}
new_rule = ns.model("NewAlertRule", rule_fields)
rule = ns.model(
    "AlertRule",
    {
        "id": fields.Integer(required=True),
        **rule_fields,
        "start": schemas.nullable(fields.String, description="null: all day"),
        "end": schemas.nullable(fields.String, description="null: all day"),
        "destination": schemas.nullable(fields.String, description="null: none"),
        "created_at": fields.String(required=True),
    },
)
rules = ns.model("AlertRules", {"rules": fields.List(fields.Nested(rule), required=True)})
alert_fields = {
    "id": fields.Integer(required=True),
    "event_id": fields.Integer(required=True, description="its id on /events"),
    "rule_id": schemas.nullable(fields.Integer, description="null once the rule is deleted"),
    "rule_name": fields.String(required=True),
    "camera_id": fields.String(required=True),
    "subject": fields.String(required=True, description="the person id, or 'unknown'"),
    "at": fields.String(required=True),
    "acked_at": schemas.nullable(fields.String, description="null until acknowledged"),
}
alert = ns.model("Alert", {**alert_fields, "track": fields.Nested(schemas.track, required=True)})
alert_page = ns.model(
    "Alerts",
    {
        "alerts": fields.List(fields.Nested(alert), required=True),
        "total": fields.Integer(required=True),
    },
)

listing = ns.parser()
listing.add_argument("limit", type=int, location="args", default=50, help="1 to 500")
listing.add_argument("offset", type=int, location="args", default=0)
listing.add_argument("unacked", type=str, location="args", help="true: only those not acknowledged")


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("send the rule as a JSON object", code="invalid_json")
    unknown = sorted(set(body) - RULE_FIELDS)
    if unknown:
        raise BadRequest(f"unknown fields: {', '.join(unknown)}", code="invalid_rule")
    return body


def _name_and_cooldown(body: dict) -> tuple[str, float]:
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 128:
        raise BadRequest("name must be 1 to 128 characters", code="invalid_rule")
    cooldown = body.get("cooldown_seconds", DEFAULT_COOLDOWN_SECONDS)
    valid = isinstance(cooldown, int | float) and not isinstance(cooldown, bool)
    if not valid or not 0 <= cooldown <= MAX_COOLDOWN_SECONDS:
        raise BadRequest(
            f"cooldown_seconds must be a number from 0 to {MAX_COOLDOWN_SECONDS}",
            code="invalid_rule",
        )
    return name.strip(), float(cooldown)


def _destination(body: dict, settings) -> str | None:
    destination = body.get("destination")
    if destination is None or destination == "":
        return None
    if not settings.webhook_secret:
        raise Unprocessable(
            "alerts are signed with FACEREC_WEBHOOK_SECRET, which is not set",
            code="no_webhook_secret",
        )
    try:
        return check_destination(destination, settings.alert_allowed_hosts)
    except RefusedDestination as error:
        raise Unprocessable(str(error), code="destination_refused") from None


def rule_json(row: dict) -> dict:
    return {**row, "created_at": params.iso(row["created_at"])}


@ns.route("/rules")
class Rules(Resource):
    @documented(ns, ADMIN, 503)
    @ns.response(200, "Every rule, oldest first", rules)
    def get(self):
        """The alert rules."""
        return {"rules": [rule_json(r) for r in current_service().db.alert_rules()]}

    @documented(ns, ADMIN, 400, 409, 422, 503, expect=new_rule)
    @ns.response(201, "Created", rule)
    def post(self):
        """Create a rule: who (people, tags, unknown, unknown groups), where (cameras,
        locations), when (weekdays, start-end in site time), the cooldown and the destination."""
        service = current_service()
        body = _json_body()
        name, cooldown = _name_and_cooldown(body)
        try:
            spec = parse_spec(body)
        except ValueError as error:
            raise BadRequest(str(error), code="invalid_rule") from None
        destination = _destination(body, service.settings)
        if len(service.db.alert_rules()) >= MAX_RULES:
            raise Conflict(
                f"there are {MAX_RULES} rules already; delete one", code="too_many_rules"
            )
        return rule_json(service.db.add_alert_rule(name, spec, destination, cooldown)), 201


@ns.route("/rules/<int:rule_id>")
class OneRule(Resource):
    @documented(ns, ADMIN, 404, 503)
    @ns.response(204, "Deleted (its alerts stay, with rule_id null)")
    def delete(self, rule_id: int):
        """Delete a rule."""
        current_service().db.delete_alert_rule(rule_id)
        return "", 204


def _alert_json(row: dict) -> dict:
    quiet = current_service().settings.track_quiet_seconds
    return {**alert_json(row), "track": track_json(row["track"], quiet)}


def _query() -> tuple[int, int, bool]:
    """GET /alerts' query string, checked: `limit`, `offset` and `unacked`."""
    limit, offset = params.window(request.args)
    return limit, offset, params.boolean(request.args, "unacked")


@ns.route("")
class Alerts(Resource):
    @documented(ns, REVIEW, 400, 503, expect=listing)
    @ns.response(200, "The newest alerts first", alert_page)
    def get(self):
        """Alerts raised, with their tracks."""
        rows, total = current_service().db.alerts(*_query())
        return {"alerts": [_alert_json(row) for row in rows], "total": total}


@ns.route("/<int:alert_id>/ack")
class Ack(Resource):
    @documented(ns, REVIEW, 404, 503)
    @ns.response(200, "Acknowledged (again: it keeps the first time)", alert)
    def post(self, alert_id: int):
        """Acknowledge an alert."""
        return _alert_json(current_service().db.ack_alert(alert_id))
