"""What of an organisation moderation covers (app/moderation/registry.py): its public description.
Its members wrote it (or asked the city to): they hear of decisions and may appeal."""
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..moderation.registry import register_kind
from .models import Organisation, organisation_members

register_kind("organisation_description", label=_l("Organisation's description"), model=Organisation,
              fields={"description": _l("What it does")}, authors=lambda org: [member.id for member in org.members],
              authored=lambda user_id: select(organisation_members.c.organisation_id).where(
                  organisation_members.c.user_id == user_id),
              link=lambda org: url_for("organisations.show", slug=org.slug), place=lambda org: org.name,
              reportable=lambda org: bool(org.description))
