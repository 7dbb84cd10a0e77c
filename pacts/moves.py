"""The moves that may be made on a pact now, each allowed or refused with its reason and date: the
one place that knows the rules a button depends on. The pact's page shows a refused move as a
disabled button with its reason beside it, and every operation that makes one calls `check` first,
so a button and its refusal never disagree (procurement/moves.py has the same shape).

The state machine and the track decide which moves exist at all (lifecycle.decisions_for); this
file decides, among those, which may be made today: a consultation not over, a clause not written,
a pact whose first day has not come, a report schedule already filed."""
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from app.accounts import residency
from app.errors import Invalid, NotAllowed
from app.i18n import city_today
from app.i18n import day as written_day

from .models import CLAUSES, Pact, PactState, PactVersion
from .settings import flag


@dataclass(frozen=True)
class Move:
    name: str
    allowed: bool
    reason: object = ""  # a lazy translated sentence when refused
    field: str | None = None  # the form field the refusal concerns, if any


def _refused(name: str, reason, field: str | None = None) -> Move:
    return Move(name, False, reason, field)


def _clauses(name: str, version: PactVersion | None) -> Move:
    """Approving or signing needs every clause written."""
    missing = version.missing_clauses if version else list(CLAUSES)
    if missing:
        return _refused(name, _l("These clauses are still empty: %(clauses)s.",
                                 clauses="; ".join(str(CLAUSES[k]) for k in missing)), field="clauses")
    return Move(name, True)


def move(pact: Pact, name: str, today: date | None = None, open_reports: list[date] | None = None) -> Move:
    """Whether `name` may be made on `pact` on `today` (default the city's today), as far as dates
    and the file's contents go (who may make it is the operation's check). `open_reports` are the
    report due dates not filed yet, for "report"."""
    today = today or city_today()
    if name == "close_consultation" and pact.consultation_ends and today < pact.consultation_ends:
        return _refused(name, _l("The public consultation runs until %(day)s; it cannot close earlier.",
                                 day=written_day(pact.consultation_ends, "long")))
    if name in ("approve", "sign"):
        return _clauses(name, pact.latest_version)
    if name == "activate" and pact.state == PactState.SIGNED and pact.starts_on and today < pact.starts_on:
        return _refused(name, _l("The pact starts on %(day)s.", day=written_day(pact.starts_on, "long")))
    if name == "report" and open_reports is not None and not open_reports:
        return _refused(name, _l("Every report of the pact's schedule is filed."), field="due_on")
    return Move(name, True)


def check(pact: Pact, name: str, today: date | None = None, open_reports: list[date] | None = None) -> None:
    """Refuse `name` with the reason the page shows beside its disabled button."""
    found = move(pact, name, today, open_reports)
    if not found.allowed:
        raise Invalid(found.reason, field=found.field)


# What a person may do as a citizen, whatever the pact: the city's setting per action may ask a
# verified resident for it.
RESIDENT_ONLY = {"propose": "PACTS_PROPOSE_NEEDS_VERIFIED_RESIDENT", "support": "PACTS_SUPPORT_NEEDS_VERIFIED_RESIDENT"}
VERIFY_FIRST = "resident_verification_required"


def citizen_move(name: str, user) -> Move:
    """Whether `user` may "propose" a pact or "support" a proposal, as far as the city's setting for
    that action asks for a verified resident."""
    if not flag(RESIDENT_ONLY[name]) or residency.is_verified_resident(user):
        return Move(name, True)
    url = residency.verification_url()
    if name == "propose":
        return _refused(name, _l("The city takes proposals from verified residents only: verify that you are a "
                                 "resident at %(url)s, then propose.", url=url))
    return _refused(name, _l("The city counts supports from verified residents only: verify that you are a "
                             "resident at %(url)s, then support the proposal.", url=url))


def check_citizen(name: str, user) -> None:
    """Refuse (403, VERIFY_FIRST) what the page shows as a disabled button with this reason."""
    found = citizen_move(name, user)
    if not found.allowed:
        raise NotAllowed(found.reason, code=VERIFY_FIRST)
