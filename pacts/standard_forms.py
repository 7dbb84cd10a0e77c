"""The city's standard forms: the ready clauses an ordinary pact is signed on, without co-design."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.audit.operations import record, snapshot
from app.database import transaction
from app.errors import Invalid, NotFound
from app.extensions import db

from .access import require_official
from .clauses import clean_clauses
from .models import CLAUSES, Intervention, StandardForm


def standard_forms(active_only: bool = True) -> list[StandardForm]:
    stmt = select(StandardForm).order_by(StandardForm.title)
    if active_only:
        stmt = stmt.where(StandardForm.active.is_(True))
    return list(db.session.execute(stmt).scalars())


def standard_form_by_id(form_id: int) -> StandardForm:
    row = db.session.get(StandardForm, form_id)
    if row is None:
        raise NotFound(_l("No such standard form."))
    return row


def save_standard_form(*, actor, title: str, intervention: str, clauses: dict, active: bool = True,
                       standard_form: StandardForm | None = None) -> StandardForm:
    """Publish or revise a standard form; it must fill every clause, since ordinary
    pacts are signed on it without co-design."""
    require_official(actor)
    title = (title or "").strip()
    if not title:
        raise Invalid(_l("Give the standard form a title."), field="title")
    try:
        intervention = Intervention(intervention).value
    except ValueError:
        raise Invalid(_l("Choose one of the options offered."), field="intervention") from None
    clauses = clean_clauses(clauses)
    missing = [k for k in CLAUSES if not clauses[k]]
    if missing:
        raise Invalid(_l("Write this clause."), field=f"clause_{missing[0]}")
    with transaction():
        before = snapshot(standard_form, ["title", "intervention", "clauses", "active"]) if standard_form else None
        if standard_form is None:
            standard_form = StandardForm()
            db.session.add(standard_form)
        standard_form.title, standard_form.intervention = title, intervention
        standard_form.clauses, standard_form.active = clauses, bool(active)
        record("pact.standard_form_saved", standard_form, actor=actor, before=before,
               after=snapshot(standard_form, ["title", "intervention", "clauses", "active"]))
    return standard_form
