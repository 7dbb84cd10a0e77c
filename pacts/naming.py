"""Who is named in public, and how: the register, the pact's page and documents, the open data
and the API say what these functions say.

A private person is named only with their consent: a resident proposing alone chooses, when
proposing, whether their name is published (`Pact.proposer_name_public`); otherwise the public
reads "a resident of <neighbourhood>". A group's or an organisation's name is always public.
Office holders (officials and administrators, who sign and act for the city) are public in
their role. Anyone else who acted on a pact (commented, filed a report) is "a resident"."""
from flask_babel import gettext as _

from app.accounts.operations import is_official

from . import bp
from .models import Pact, Party, ProposerKind


def _neighbourhoods(pact: Pact) -> str:
    return ", ".join(sorted({c.neighbourhood for c in pact.commons if c.neighbourhood}))


def resident_of(pact: Pact) -> str:
    places = _neighbourhoods(pact)
    return _("a resident of %(neighbourhood)s", neighbourhood=places) if places else _("a resident")


@bp.app_template_global()
def public_proposer(pact: Pact) -> str:
    """The proposing party as the public knows it."""
    if pact.proposer_kind == ProposerKind.ORGANISATION and pact.organisation:
        return pact.organisation.name
    if pact.proposer_kind == ProposerKind.GROUP and pact.group_name:
        return pact.group_name
    return pact.proposer.name if pact.proposer_name_public else resident_of(pact)


@bp.app_template_global()
def public_person(user, pact: Pact) -> str:
    """Someone who acted on the pact (wrote a version, commented, filed a report), as the public
    may read it."""
    if user is None:
        return ""
    if is_official(user):
        return _("%(name)s, for the city", name=user.name)
    if user.id == pact.proposer_id:
        return public_proposer(pact)
    if pact.organisation is not None and user.member_of(pact.organisation):
        return _("a member of %(organisation)s", organisation=pact.organisation.name)
    return _("a resident")


@bp.app_template_global()
def public_signer(signature, pact: Pact) -> str:
    """Who signed, as the public may read it: the city's signatory in their role, the citizens' side
    as the proposing party (the name written at signing stays in the city's records)."""
    if signature.party_enum == Party.CITY:
        return _("%(name)s, for the city", name=signature.name)
    return public_proposer(pact)
