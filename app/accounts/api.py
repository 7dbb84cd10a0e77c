from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..security import api_login_required, api_user

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The account behind the token.")


class OrganisationRefSchema(Schema):
    slug = fields.String()
    name = fields.String()
    kind = fields.String()


class MeSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    roles = fields.List(fields.String())
    organisations = fields.List(fields.Nested(OrganisationRefSchema))


@blp.route("")
@blp.response(200, MeSchema)
@blp.doc(security=[{"bearer": []}])
@api_login_required
def me():
    """Who the bearer token belongs to, with roles and organisations."""
    user = api_user()
    return {"id": user.id, "email": user.email, "name": user.name,
            "roles": sorted(user.roles), "organisations": user.organisations}
