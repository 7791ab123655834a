"""`/dataset/<id>/tags`: labels on a person (a watchlist, "staff") that alert rules match on."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource, fields

from api import params
from api.auth import ADMIN, RECOGNIZE
from api.errors import BadRequest
from api.routes._shared import documented
from api.service import current_service
from storage.alerts import MAX_TAGS

ns = Namespace("person-tags", description="Tags on people, for alert rules", path="/dataset")

tags = ns.model(
    "PersonTags",
    {
        "id_name": fields.String(required=True),
        "tags": fields.List(fields.String, required=True, description=f"ids, at most {MAX_TAGS}"),
    },
)
new_tags = ns.model("NewPersonTags", {"tags": fields.List(fields.String, required=True)})


def _tags_of_body() -> list[str]:
    body = request.get_json(silent=True)
    value = body.get("tags") if isinstance(body, dict) else None
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise BadRequest(
            f'send {{"tags": [...]}} with at most {MAX_TAGS} tags', code="invalid_json"
        )
    return [params.valid_id(tag if isinstance(tag, str) else None, "tag") for tag in value]


@ns.route("/<string:person_id>/tags")
@ns.param("person_id", params.ID_RULE)
class PersonTags(Resource):
    @documented(ns, RECOGNIZE, 400, 404, 503)
    @ns.response(200, "The person's tags, sorted", tags)
    def get(self, person_id: str):
        """A person's tags."""
        person = params.person_id(person_id)
        return {"id_name": person, "tags": current_service().db.person_tags(person)}

    @documented(ns, ADMIN, 400, 404, 503, expect=new_tags)
    @ns.response(200, "The person's tags now (they replace the old ones)", tags)
    def put(self, person_id: str):
        """Replace a person's tags."""
        person = params.person_id(person_id)
        return {
            "id_name": person,
            "tags": current_service().db.set_person_tags(person, _tags_of_body()),
        }
