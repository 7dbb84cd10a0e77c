"""The city's register of urban commons: what the pacts are about."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.audit.operations import record, snapshot
from app.database import transaction
from app.errors import Invalid, NotFound
from app.extensions import db

from .access import require_official, visible_to
from .models import Commons, CommonsKind

COMMONS_FIELDS = ["name", "kind", "place", "neighbourhood", "latitude", "longitude", "department",
                  "description", "registered"]


def save_commons(*, actor, commons: Commons | None = None, name: str, kind: str, place: str = "",
                 neighbourhood: str = "", latitude=None, longitude=None, department: str = "",
                 description: str = "") -> Commons:
    """Register a commons, or correct one (officials only); coordinates come in pairs."""
    require_official(actor)
    name = (name or "").strip()
    if not name:
        raise Invalid(_l("Give the commons a name."), field="name")
    try:
        kind = CommonsKind(kind).value
    except ValueError:
        raise Invalid(_l("Choose one of the options offered."), field="kind") from None
    if (latitude is None) != (longitude is None):
        raise Invalid(_l("Give both latitude and longitude, or neither."), field="longitude")
    if latitude is not None and not (-90 <= float(latitude) <= 90 and -180 <= float(longitude) <= 180):
        raise Invalid(_l("These coordinates are not on Earth."), field="latitude")
    with transaction():
        before = snapshot(commons, COMMONS_FIELDS) if commons else None
        if commons is None:
            commons = Commons()
            db.session.add(commons)
        commons.name, commons.kind, commons.place = name, kind, (place or "").strip()
        commons.neighbourhood = (neighbourhood or "").strip()
        commons.latitude, commons.longitude = latitude, longitude
        commons.department = (department or "").strip()
        commons.description = (description or "").strip()
        commons.registered = True
        record("commons.saved", commons, actor=actor, before=before, after=snapshot(commons, COMMONS_FIELDS))
    return commons


def commons_by_id(commons_id: int) -> Commons:
    commons = db.session.get(Commons, commons_id)
    if commons is None:
        raise NotFound(_l("No such commons."))
    return commons


def commons_page(commons_id: int, user=None) -> tuple[Commons, list]:
    """A commons with what its page shows, loaded up front: its photos and documents, and the
    pacts on it that `user` may read."""
    commons = db.session.execute(
        select(Commons).where(Commons.id == commons_id)
        .options(selectinload(Commons.attachments), selectinload(Commons.pacts))).scalar_one_or_none()
    if commons is None:
        raise NotFound(_l("No such commons."))
    return commons, [p for p in commons.pacts if visible_to(p, user)]


def list_commons(*, kind: str = "", neighbourhood: str = "", page: int = 1, per_page: int = 30):
    stmt = select(Commons).options(selectinload(Commons.pacts)).order_by(Commons.name)
    if kind:
        stmt = stmt.where(Commons.kind == kind)
    if neighbourhood:
        stmt = stmt.where(Commons.neighbourhood == neighbourhood)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def commons_choices() -> list:
    """(id, name, registered) of every commons, by name: for filters and pickers, without
    loading each commons' pacts (all_commons does, and that grows with the register)."""
    return list(db.session.execute(select(Commons.id, Commons.name, Commons.registered).order_by(Commons.name)))


def all_commons() -> list[Commons]:
    return list(db.session.execute(select(Commons).options(selectinload(Commons.pacts))
                                   .order_by(Commons.name)).scalars())


def neighbourhoods() -> list[str]:
    return list(db.session.execute(select(Commons.neighbourhood).where(Commons.neighbourhood != "")
                                   .distinct().order_by(Commons.neighbourhood)).scalars())
