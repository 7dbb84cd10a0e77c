"""What of a council moderation covers (app/moderation/registry.py): a candidate's nomination statement."""
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.moderation.registry import register_kind

from .models import Candidacy

register_kind("council_nomination", label=_l("Nomination statement"), model=Candidacy,
              fields={"statement": _l("Statement")}, authors=lambda candidacy: [candidacy.user_id],
              authored=lambda user_id: select(Candidacy.id).where(Candidacy.user_id == user_id),
              link=lambda candidacy: url_for("councils.election", election_id=candidacy.election_id)
              + f"#candidacy-{candidacy.id}",
              place=lambda candidacy: candidacy.election.title, reportable=lambda candidacy: bool(candidacy.statement))
