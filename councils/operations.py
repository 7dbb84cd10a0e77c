"""Joint councils: setting a council up, and the rules every other council file leans on.

The rules the Partner State proposals set, and where they are enforced:
equal seats for local government and civil society (one number, `seats_per_side`:
`seats.py`); a Chair and a Vice-Chair from opposite sides (`chairs.py`); terms of
`term_months`, the Chair's side alternating every term, derived from the first term's
side and start date, never typed (`terms.py`); civil seats filled by the accredited
social-economy organisations of the jurisdiction, one ballot each (`elections.py`).
Meetings and their minutes are in `meetings.py`, motions and votes in `motions.py`, and
the priority needs other modules read in `needs.py`.
"""
import re
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.accounts.operations import is_official
from app.audit.operations import record, snapshot
from app.config import LOCALES
from app.database import transaction
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.i18n import city_today

from .models import Council, CountingRule, Jurisdiction, Mandate, Motion, Side, TieRule, VoteRule

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SEATS_PER_SIDE = 50
# Words the council pages use in their own addresses.
RESERVED_SLUGS = {"new", "meetings", "motions", "elections", "mandates", "appointments", "priority-needs"}
COUNCIL_FIELDS = ("name", "jurisdiction", "area", "mandate", "seats_per_side", "term_months",
                  "first_term_start", "first_chair_side", "locale", "vote_rule", "tie_rule",
                  "counting_rule", "quorum_per_side", "quorum_majority", "warn_days", "hand_votes_named")
# Changing these would rewrite the rotation of terms already served.
ROTATION_FIELDS = ("term_months", "first_term_start", "first_chair_side")


def require_official(actor) -> None:
    """Refuse anyone but a city official or an administrator: they configure councils and meetings."""
    if not is_official(actor):
        raise NotAllowed(_l("Only city officials may configure councils and meetings."))


def lock_council(council: Council) -> None:
    """Lock the council's row until the transaction ends: changes to its seats, offices and
    settings take turns, so two officials never fill the last seat twice."""
    db.session.execute(select(Council.id).where(Council.id == council.id).with_for_update())


def lock_motion(motion: Motion) -> None:
    """Lock the motion's row until the transaction ends and re-read it with its votes: a vote
    cast and the vote's closing take turns, so no vote lands after the count, and a closing
    confirmed for a list of members counts the votes as they are under the lock."""
    db.session.execute(select(Motion.id).where(Motion.id == motion.id).with_for_update())
    db.session.expire(motion)


def _clean_council_fields(fields: dict, council: Council | None = None) -> dict:
    out = dict(fields)
    for key in ("name", "area", "mandate"):
        if key in out:
            out[key] = (out[key] or "").strip()
    if "name" in out and not out["name"]:
        raise Invalid(_l("Give the council a name."), field="name")
    if "jurisdiction" in out:
        try:
            out["jurisdiction"] = Jurisdiction(out["jurisdiction"]).value
        except ValueError:
            raise Invalid(_l("Choose the city, a district or a neighbourhood."), field="jurisdiction") from None
        if out["jurisdiction"] != Jurisdiction.CITY.value and not out.get("area"):
            raise Invalid(_l("Name the district or neighbourhood the council serves."), field="area")
    if "seats_per_side" in out:
        seats = out["seats_per_side"]
        if not isinstance(seats, int) or not 1 <= seats <= MAX_SEATS_PER_SIDE:
            raise Invalid(_l("Each side has between 1 and %(max)s seats.", max=MAX_SEATS_PER_SIDE),
                          field="seats_per_side")
    if "term_months" in out:
        months = out["term_months"]
        if not isinstance(months, int) or not 1 <= months <= 120:
            raise Invalid(_l("A term lasts between 1 and 120 months."), field="term_months")
    if "first_chair_side" in out:
        try:
            out["first_chair_side"] = Side(out["first_chair_side"]).value
        except ValueError:
            raise Invalid(_l("Choose which side chairs the first term."), field="first_chair_side") from None
    if "first_term_start" in out and not isinstance(out["first_term_start"], date):
        raise Invalid(_l("Give the date the first term starts."), field="first_term_start")
    if "locale" in out and out["locale"] not in LOCALES:
        raise Invalid(_l("Choose one of the platform's languages."), field="locale")
    for key, enum, message in (("vote_rule", VoteRule, _l("Choose how motions pass.")),
                               ("tie_rule", TieRule, _l("Choose how a tie is settled.")),
                               ("counting_rule", CountingRule, _l("Choose how ballots are counted."))):
        if key in out:
            try:
                out[key] = enum(out[key]).value
            except ValueError:
                raise Invalid(message, field=key) from None
    if "quorum_per_side" in out and not (isinstance(out["quorum_per_side"], int) and out["quorum_per_side"] >= 1):
        raise Invalid(_l("At least one member of each side must be present."), field="quorum_per_side")
    if "hand_votes_named" in out:
        out["hand_votes_named"] = bool(out["hand_votes_named"])
    if "warn_days" in out and not (isinstance(out["warn_days"], int) and 0 <= out["warn_days"] <= 365):
        raise Invalid(_l("Warn between 0 and 365 days before a term ends."), field="warn_days")
    # Judged on the values the council will have, so that neither a new quorum nor fewer seats
    # leave a council whose meetings could never be quorate.
    seats = out.get("seats_per_side", getattr(council, "seats_per_side", None))
    quorum = out.get("quorum_per_side", getattr(council, "quorum_per_side", None) or 1)
    if seats is not None and quorum > seats:
        raise Invalid(_l("The quorum of each side cannot exceed its %(seats)s seats, or no meeting could "
                         "ever be quorate.", seats=seats), field="quorum_per_side")
    return out


def create_council(slug: str, name: str, *, seats_per_side: int, first_term_start: date,
                   first_chair_side: str, actor, **fields) -> Council:
    """Set up a council. Both sides get `seats_per_side` seats; the first term may
    have started in the past, and the rotation then runs from that date."""
    require_official(actor)
    slug = (slug or "").strip().lower()
    if not SLUG.match(slug) or len(slug) > 80 or slug in RESERVED_SLUGS:
        raise Invalid(_l("Use lower-case letters, digits and dashes only, like “city-council”."), field="slug")
    values = _clean_council_fields({"name": name, "seats_per_side": seats_per_side,
                                    "first_term_start": first_term_start,
                                    "first_chair_side": first_chair_side,
                                    **{k: v for k, v in fields.items() if k in COUNCIL_FIELDS}})
    with transaction():
        if db.session.execute(select(Council.id).where(Council.slug == slug)).first():
            raise Invalid(_l("The name “%(slug)s” is taken.", slug=slug), field="slug")
        council = Council(slug=slug, **values)
        db.session.add(council)
        db.session.flush()
        record("council.created", council, actor=actor, after=snapshot(council, ["slug", *COUNCIL_FIELDS]))
    return council


def update_council(council: Council, *, actor, **fields) -> None:
    """Change a council's settings. Seats shrink only down to the highest seat in
    use; the rotation settings are frozen once a Chair has been named."""
    require_official(actor)
    values = _clean_council_fields({k: v for k, v in fields.items() if k in COUNCIL_FIELDS}, council)
    with transaction():
        lock_council(council)
        if council.appointments and any(values.get(k, getattr(council, k)) != getattr(council, k)
                                        for k in ROTATION_FIELDS):
            raise Invalid(_l("The term length, the first term's start and its Chair's side cannot change "
                             "once a Chair has been named: it would rewrite the rotation."),
                          field="term_months")
        if "seats_per_side" in values:
            highest = db.session.execute(
                select(func.max(Mandate.seat_number)).where(Mandate.council_id == council.id,
                                                            Mandate.open_from(city_today()))).scalar()
            if highest and values["seats_per_side"] < highest:
                raise Invalid(_l("Seat %(seat)s is held on one side: end that mandate before reducing "
                                 "the seats to %(seats)s per side.", seat=highest,
                                 seats=values["seats_per_side"]), field="seats_per_side")
        before = snapshot(council, list(COUNCIL_FIELDS))
        for key, value in values.items():
            setattr(council, key, value)
        record("council.updated", council, actor=actor, before=before,
               after=snapshot(council, list(COUNCIL_FIELDS)))


def councils(page: int = 1, per_page: int = 25):
    return db.paginate(select(Council).order_by(Council.name), page=page, per_page=per_page, error_out=False)


def all_councils() -> list[Council]:
    return db.session.execute(select(Council).order_by(Council.name)).scalars().all()


def council_by_slug(slug: str) -> Council:
    council = db.session.execute(select(Council).where(Council.slug == slug)).scalar_one_or_none()
    if council is None:
        raise NotFound(_l("No council “%(slug)s”.", slug=slug))
    return council
