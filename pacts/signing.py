"""The pact's text: versions of the clauses kept (never changed once written), compared side
by side, and signed by both parties; an amendment is a new version signed again."""
import difflib
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.accounts.operations import is_official
from app.audit.operations import record, snapshot
from app.database import transaction, utcnow
from app.dates import add_months
from app.errors import Invalid, InvalidTransition, NotAllowed, NotFound
from app.extensions import db
from app.i18n import city_today
from app.notifications.operations import follow

from . import moves
from .access import is_proposer, require_official, require_proposer
from .clauses import clean_clauses
from .lifecycle import PACT_FIELDS, move
from .models import CLAUSES, Pact, PactState, PactVersion, Party, Signature

# Where the clauses may still be written: the proposer's draft, co-design, and a pact in force
# (by amendment). Approved and closed pacts cannot be changed.
EDITABLE = (PactState.DRAFT, PactState.CO_DESIGN, PactState.SIGNED, PactState.ACTIVE, PactState.SUSPENDED)


def may_write(pact: Pact, user) -> bool:
    """Whether `user` may save a new version of the clauses now (the rule save_version keeps)."""
    if pact.state == PactState.DRAFT:
        return is_proposer(pact, user)
    return pact.state_enum in EDITABLE and (is_proposer(pact, user) or is_official(user))


def save_version(pact: Pact, clauses: dict, *, actor, note: str = "") -> PactVersion:
    """Keep a new version of the clauses; earlier versions never change.

    The proposer writes the draft; in co-design both the office and the proposer
    write; a pact in force is changed only by an amendment (a new version that
    must be signed again). Approved and closed pacts cannot be changed."""
    state = pact.state_enum
    if state == PactState.DRAFT:
        require_proposer(pact, actor)
    elif state in EDITABLE:
        if not (is_proposer(pact, actor) or is_official(actor)):
            raise NotAllowed(_l("Only the proposer and the city's officials write this pact."))
    else:
        raise InvalidTransition(_l("A pact that is “%(state)s” cannot be edited.", state=state.label))
    clauses = clean_clauses(clauses)
    latest = pact.latest_version
    if latest is not None and latest.clauses == clauses:
        raise Invalid(_l("Nothing changed since the last version."), field="clauses")
    with transaction():
        version = PactVersion(pact=pact, number=(latest.number + 1) if latest else 1, clauses=clauses,
                              note=(note or "").strip()[:300], author_id=actor.id)
        db.session.add(version)
        action = "pact.amendment_proposed" if pact.is_signed else "pact.version_saved"
        record(action, pact, actor=actor, after={"version": version.number, "clauses": clauses})
    return version


def sign(pact: Pact, party: str, *, actor, version_number: int | None = None) -> Signature:
    """Record a party's acceptance of the latest version, with name and time.

    The proposer signs for the citizens, an official for the city. When both
    have signed an approved pact it becomes signed; when both have signed an
    amendment it becomes the version in force."""
    party = Party(party)
    version = pact.latest_version
    if version_number is not None and (version is None or version.number != version_number):
        raise Invalid(_l("Only the latest version can be signed."), field="version")
    amendment = pact.state_enum in (PactState.SIGNED, PactState.ACTIVE, PactState.SUSPENDED)
    if amendment and version.number == pact.signed_version_number:
        raise Invalid(_l("This version is already signed by both parties."))
    if not amendment:
        if pact.state != PactState.APPROVED:
            raise InvalidTransition(_l("A pact that is “%(state)s” cannot be signed.",
                                       state=pact.state_enum.label))
    if party == Party.CITIZENS:
        require_proposer(pact, actor)
    else:
        require_official(actor)
    if version.signature_of(party):
        raise Invalid(_l("This party has already signed version %(number)s.", number=version.number))
    moves.check(pact, "sign")
    with transaction():
        signature = Signature(version=version, party=party.value, user_id=actor.id, name=actor.name,
                              signed_at=utcnow())
        db.session.add(signature)
        record("pact.version_signed", pact, actor=actor,
               after={"version": version.number, "party": party.value, "name": actor.name})
        follow(actor, "pact", pact.id)
        if version.fully_signed:
            before = snapshot(pact, PACT_FIELDS)
            pact.signed_version_number = version.number
            if amendment:
                record("pact.amended", pact, actor=actor, before=before, after=snapshot(pact, PACT_FIELDS))
            else:
                pact.starts_on = city_today()
                pact.ends_on = add_months(pact.starts_on, pact.duration_months)
                move(pact, PactState.SIGNED, actor)
    return signature


# Versions compared ----------------------------------------------------------------------

@dataclass
class ClauseDiff:
    key: str
    label: object
    rows: list  # (tag, left line, right line); tag is equal, replace, delete or insert
    changed: bool


def compare_versions(left: PactVersion, right: PactVersion) -> list[ClauseDiff]:
    """The two versions side by side, clause by clause and line by line."""
    result = []
    for key, label in CLAUSES.items():
        a, b = left.clause(key).splitlines(), right.clause(key).splitlines()
        rows = []
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            span = max(i2 - i1, j2 - j1)
            for n in range(span):
                rows.append((tag, a[i1 + n] if i1 + n < i2 else "", b[j1 + n] if j1 + n < j2 else ""))
        result.append(ClauseDiff(key, label, rows, a != b))
    return result


def version_by_number(pact: Pact, number: int) -> PactVersion:
    version = next((v for v in pact.versions if v.number == number), None)
    if version is None:
        raise NotFound(_l("This pact has no version %(number)s.", number=number))
    return version
