"""What of an organisation moderation covers (app/moderation/registry.py): its public description.
Its members wrote it (or asked the city to): they hear of decisions and may appeal."""
from flask import url_for
from flask_babel import lazy_gettext as _l

from ..moderation.registry import register_kind
from .models import Organisation

register_kind("organisation_description", label=_l("Organisation's description"), model=Organisation,
              fields={"description": _l("What it does")}, authors=lambda org: [member.id for member in org.members],
              link=lambda org: url_for("organisations.show", slug=org.slug), place=lambda org: org.name,
              reportable=lambda org: bool(org.description))
