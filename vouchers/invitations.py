"""A single voucher issued to an email no account has: the official corrects the email, or
invites the person (issue #19: a mistyped email silently made an account and a voucher for it).

Invited, the person gets an account with no password and one email with a link to choose it
(the password-reset link of app/accounts, made when the email is written), in the language of
the official who invited them unless their account has one. Batch files and the API keep their
own rules (vouchers/issuance.py, vouchers/api.py)."""
from flask_babel import lazy_gettext as _l

from app.accounts.models import User
from app.accounts.operations import create_user, find_user
from app.database import transaction
from app.errors import Invalid
from app.notifications.operations import emit

from . import issuance
from .events import INVITATION
from .models import Programme, Voucher


class NoAccount(Invalid):
    code = "no_account"


def holder_or_refusal(email: str) -> User:
    """The account with this email; NoAccount beside the field if none has it."""
    holder = find_user(email)
    if holder is None:
        raise NoAccount(_l("No account has this email. Correct it, or tick “Invite this person”."),
                        field="holder_email")
    return holder


def issue_to_email(programme: Programme, email: str, amount_cents: int | None, *, invite: bool, actor,
                   locale: str | None = None, **terms) -> tuple[Voucher, bool]:
    """Issue one voucher to the account with `email`: (voucher, invited). With no such account,
    NoAccount unless `invite`; then the account, the voucher and the invitation are written
    together (a refused voucher invites nobody). `terms`: issuance.issue_voucher's."""
    holder = find_user(email)
    if holder is not None:
        return issuance.issue_voucher(programme, holder, amount_cents, actor=actor, **terms), False
    if not invite:
        holder_or_refusal(email)
    with transaction():
        holder = create_user(email, None, actor=actor)
        voucher = issuance.issue_voucher(programme, holder, amount_cents, actor=actor, **terms)
        emit(INVITATION, "voucher", voucher.id, actor=actor, programme=programme.name, locale=locale)
    return voucher, True
