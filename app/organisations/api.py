from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..api import Date, api_abort
from ..errors import NotFound
from ..i18n import city_today
from ..security import api_public
from . import operations as ops

blp = Blueprint("organisations_api", __name__, url_prefix="/api/v1/organisations",
                description="The register of organisations and their accreditations.")


class AccreditationSchema(Schema):
    category = fields.Function(lambda a: a.category.slug)
    status = fields.String()
    valid_from = Date()
    valid_until = Date()
    in_force = fields.Function(lambda a: a.in_force(city_today()))


class OrganisationSchema(Schema):
    slug = fields.String()
    name = fields.String()
    kind = fields.String()
    social_economy = fields.Boolean(attribute="is_social_economy")
    neighbourhood = fields.String()
    website = fields.String()
    accreditations = fields.List(fields.Nested(AccreditationSchema))


class OrganisationQuery(Schema):
    kind = fields.String(load_default="")
    category = fields.String(load_default="")
    page = fields.Integer(load_default=1)


@blp.route("")
@blp.arguments(OrganisationQuery, location="query")
@blp.response(200, OrganisationSchema(many=True))
@api_public
def index(query):
    """Organisations, optionally only those of a kind or accredited today for a category."""
    page = ops.search_organisations(kind=query["kind"], category=query["category"],
                                    page=max(query["page"], 1), per_page=100)
    return page.items


@blp.route("/<slug>")
@blp.response(200, OrganisationSchema)
@api_public
def show(slug):
    """One organisation with its accreditations."""
    try:
        return ops.organisation_by_slug(slug)
    except NotFound as error:
        api_abort(404, "not_found", error.message)
