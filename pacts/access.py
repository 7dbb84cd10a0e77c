"""Who is who on a pact: its proposer, its signatories and the city's officials; and who may
read a file (drafts stay private to their proposer and the office)."""
from flask_babel import lazy_gettext as _l

from app.accounts.operations import is_official
from app.errors import NotAllowed

from .models import Pact, PactState, Party


def is_proposer(pact: Pact, user) -> bool:
    return user is not None and getattr(user, "id", None) == pact.proposer_id


def is_signatory(pact: Pact, user) -> bool:
    """The proposer, or anyone who signed a version for the citizens."""
    if is_proposer(pact, user):
        return True
    uid = getattr(user, "id", None)
    return uid is not None and any(s.user_id == uid and s.party == Party.CITIZENS
                                   for v in pact.versions for s in v.signatures)


def require_official(user) -> None:
    if not is_official(user):
        raise NotAllowed(_l("Only a city official may do this."))


def require_proposer(pact: Pact, user) -> None:
    if not is_proposer(pact, user):
        raise NotAllowed(_l("Only the proposer of this pact may do this."))


def visible_to(pact: Pact, user) -> bool:
    """Drafts stay private to their proposer and the office; every other file is public."""
    return pact.state != PactState.DRAFT or is_proposer(pact, user) or is_official(user)
