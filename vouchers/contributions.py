"""Contributions to the collective pool by citizens and organisations, with their receipts."""
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select

from app.accounts.models import Role, User
from app.audit.operations import record
from app.database import transaction
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.organisations.models import Organisation

from . import ledger
from .models import MAX_CENTS, Contribution, TransferKind


def contribute(amount_cents: int, *, actor: User, organisation: Organisation | None = None) -> Contribution:
    """Record a contribution to the collective pool by a citizen or (for its members) an organisation.

    The money comes from outside the ledger: the contributor's outside account
    is debited (its negative balance is what they gave) and the pool credited."""
    if not isinstance(amount_cents, int) or amount_cents <= 0 or amount_cents > MAX_CENTS:
        raise Invalid(_l("The amount must be above zero."), field="amount")
    if organisation is not None and not actor.member_of(organisation):
        raise NotAllowed(_l("You may contribute only for your own organisation."), field="organisation")
    with transaction():
        pool = ledger.pool()
        source = ledger.external_account(user=actor, organisation=organisation)
        transfer_id = ledger.transfer(source, pool, amount_cents, TransferKind.CONTRIBUTE, actor=actor,
                                      reference="contribution")
        contribution = Contribution(user_id=None if organisation else actor.id,
                                    organisation_id=organisation.id if organisation else None,
                                    amount_cents=amount_cents, transfer_id=transfer_id)
        db.session.add(contribution)
        db.session.flush()
        record("voucher_contribution.received", contribution, actor=actor,
               after={"amount_cents": amount_cents, "organisation": organisation.slug if organisation else None})
    return contribution


def contribution_for_contributor(contribution_id: int, user: User) -> Contribution:
    """A contribution its contributor (or a member of the contributing organisation, or an official)
    may see; anyone else gets NotFound."""
    contribution = db.session.get(Contribution, contribution_id)
    if contribution is None or not (
            contribution.user_id == user.id or user.has_role(Role.OFFICIAL, Role.ADMIN)
            or (contribution.organisation is not None and user.member_of(contribution.organisation))):
        raise NotFound(_l("No such contribution."))
    return contribution


def contributions_of(user: User) -> list[Contribution]:
    return db.session.execute(_contributions_statement(), {
        "user_id": user.id, "organisation_ids": [o.id for o in user.organisations]}).scalars().all()


@lru_cache(maxsize=1)
def _contributions_statement():
    """Built once: a holder's page reads it on every visit."""
    return (select(Contribution)
            .where((Contribution.user_id == bindparam("user_id"))
                   | Contribution.organisation_id.in_(bindparam("organisation_ids", expanding=True)))
            .order_by(Contribution.id.desc()))
