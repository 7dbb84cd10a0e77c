"""What vouchers tell people: a voucher received, expiring, redeemed; a settlement paid.

A batch run is ONE event whose audience is the holders of the vouchers it
issued (a Select the worker pages through), so a million vouchers cost the
issuing transaction one outbox row."""
from datetime import date, timedelta

from flask import url_for
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import User
from app.accounts.resets import RESET_HOURS, issue_reset
from app.extensions import db
from app.i18n import day, money
from app.notifications.registry import Reminder, register_event, register_reminder
from app.organisations.models import organisation_members

from .models import Account, Programme, Voucher, VoucherStatus

EXPIRY_NOTICE_DAYS = 30


def _holders(event):
    """One voucher's holder, or the holders of a batch (a voucher id range of one programme)."""
    ctx = event.context
    if event.subject_type == "voucher":
        return select(Voucher.holder_id.label("uid")).where(Voucher.id == event.subject_id)
    return select(Voucher.holder_id.label("uid")).where(
        Voucher.programme_id == event.subject_id, Voucher.id >= ctx["first_id"], Voucher.id <= ctx["last_id"])


def _expiring_holders(event):
    """Holders of the programme's vouchers that end that day, still active and not spent."""
    return (select(Voucher.holder_id.label("uid")).join(Account, Account.id == Voucher.account_id)
            .where(Voucher.programme_id == event.subject_id,
                   Voucher.valid_until == date.fromisoformat(event.context["valid_until"]),
                   Voucher.status == VoucherStatus.ACTIVE.value, Account.balance > 0))


def _my_vouchers(event) -> str:
    if event.subject_type == "voucher":
        return url_for("vouchers.voucher", voucher_id=event.subject_id)
    return url_for("vouchers.mine")


def _values(event) -> dict:
    ctx = event.context
    values = dict(ctx)
    for name in ("amount_cents", "remaining_cents", "total_cents"):
        if name in ctx:
            values[name.removesuffix("_cents")] = money(ctx[name])
    for name in ("valid_until", "period_start", "period_end", "paid_on"):
        if ctx.get(name):
            values[name] = day(date.fromisoformat(ctx[name]))
    return values


def _organisation_members(event):
    return select(organisation_members.c.user_id.label("uid")).where(
        organisation_members.c.organisation_id == event.context["organisation_id"])


register_event(
    "voucher.received", label=_l("You receive a voucher"),
    sentence=_l("You have received a voucher from the programme “%(programme)s”."),
    link=_my_vouchers, audience=_holders, params=_values)

register_event(
    "voucher.expiring", label=_l("One of your vouchers expires within 30 days"),
    sentence=_l("Your voucher from the programme “%(programme)s” expires on %(valid_until)s: "
                "use what remains before then."),
    link=lambda event: url_for("vouchers.mine"), audience=_expiring_holders, params=_values)

register_event(
    "voucher.redeemed", label=_l("One of your vouchers is used"),
    sentence=_l("%(amount)s of your voucher %(code)s were redeemed at %(organisation)s; %(remaining)s remain."),
    link=_my_vouchers, audience=_holders, params=_values)

register_event(
    "voucher.offline_honoured", label=_l("A sale of your voucher made offline is paid by the city"),
    sentence=_l("%(organisation)s sold %(amount)s on your voucher %(code)s without a connection, after the "
                "voucher had been spent, revoked or expired elsewhere: the city pays it from the programme's "
                "offline-risk budget, and your voucher is not charged."),
    link=_my_vouchers, audience=_holders, params=_values)

register_event(
    "voucher.refunded", label=_l("A co-op refunds a sale paid with one of your vouchers"),
    sentence=_l("%(organisation)s refunded %(amount)s to your voucher %(code)s; %(remaining)s remain."),
    link=_my_vouchers, audience=_holders, params=_values)

register_event(
    "voucher.refunded_expired", label=_l("A co-op refunds a sale paid with a voucher no longer valid"),
    sentence=_l("%(organisation)s refunded %(amount)s of a sale paid with your voucher %(code)s, but the voucher "
                "can no longer be spent (valid until %(valid_until)s), so the value goes back to the programme."),
    link=_my_vouchers, audience=_holders, params=_values)

register_event(
    "voucher.settlement_paid", label=_l("Your organisation is paid for the vouchers it redeemed"),
    sentence=_l("%(organisation)s has been paid %(total)s for the vouchers redeemed from %(period_start)s "
                "to %(period_end)s."),
    link=lambda event: url_for("vouchers.statements"), audience=_organisation_members, params=_values)


register_event(
    "voucher.bank_account_rejected", label=_l("Your organisation's bank account is not approved"),
    sentence=_l("The bank account %(iban)s registered for %(organisation)s was not approved: %(reason)s. "
                "Its settlements are still paid as before; register the account again once corrected."),
    link=lambda event: url_for("vouchers.bank_account"), audience=_organisation_members, params=_values)

register_event(
    "voucher.settlement_statement", label=_l("Your organisation's settlement statement is ready"),
    sentence=_l("%(organisation)s will be paid %(total)s for the vouchers redeemed from %(period_start)s to "
                "%(period_end)s: its statement is ready, and the city's bank makes the transfer."),
    link=lambda event: url_for("vouchers.statements"), audience=_organisation_members, params=_values)

register_event(
    "voucher.bank_account_requested", label=_l("Your organisation's bank account is registered or changed"),
    sentence=_l("A new bank account (%(iban)s) was registered for %(organisation)s; it is used for its "
                "settlements once an official approves it."),
    link=lambda event: url_for("vouchers.bank_account"), audience=_organisation_members, params=_values)

register_event(
    "voucher.bank_account_approved", label=_l("Your organisation's bank account is approved"),
    sentence=_l("The bank account %(iban)s of %(organisation)s was approved: its settlements are paid into it "
                "from now on."),
    link=lambda event: url_for("vouchers.bank_account"), audience=_organisation_members, params=_values)


@register_reminder
def expiring_vouchers(today):
    """One reminder per programme and end date within 30 days, to the holders with money left."""
    rows = db.session.execute(
        select(Programme.id, Programme.name, Voucher.valid_until)
        .join(Programme, Programme.id == Voucher.programme_id).join(Account, Account.id == Voucher.account_id)
        .where(Voucher.status == VoucherStatus.ACTIVE.value, Account.balance > 0, Voucher.valid_until >= today,
               Voucher.valid_until <= today + timedelta(days=EXPIRY_NOTICE_DAYS))
        .group_by(Programme.id, Programme.name, Voucher.valid_until)
        .order_by(Voucher.valid_until, Programme.id)).all()
    for programme_id, name, valid_until in rows:
        yield Reminder(kind="voucher.expiring", subject_type="voucher_programme", subject_id=programme_id,
                       recipients=(), key=f"voucher.expiring:{programme_id}:{valid_until.isoformat()}",
                       context={"programme": name, "valid_until": valid_until.isoformat()})


# A voucher issued to a person the official invited (vouchers/invitations.py): their account has no
# password yet, so the email carries the password-reset link of app/accounts.
TIME_GIFT_RECEIVED = "voucher.time_gift_received"

# Only to the recipient, once the minutes are theirs (vouchers/gifts.py): never to the giver, whose
# side of a gift must not tell whether the email has an account.
register_event(
    TIME_GIFT_RECEIVED, label=_l("Someone gives you time credits"),
    sentence=_l("%(giver)s gave you %(minutes)s minutes of time credits."),
    link=lambda event: url_for("vouchers.mine"),
    params=lambda event: {**event.context, "minutes": format_decimal(event.context["minutes"])})

INVITATION = "voucher.invitation"

INVITATION_LABEL = _l("You have been given a voucher: choose your password")
INVITATION_SENTENCE = _l("%(programme)s has given you a social voucher, and an account with this email was opened "
                         "for you. Open the link below within %(hours)s hours to choose your password and see the "
                         "voucher; the link works once. If it expires, ask for a new password on the sign-in page.")


def _invitation_params(event) -> dict:
    return {"programme": event.context.get("programme", ""), "hours": RESET_HOURS}


def _invitation_link(event, user) -> str:
    # Made when the email is written: the link's nonce goes into the email and never into the outbox.
    return url_for("accounts.reset", token=issue_reset(user))


register_event(
    INVITATION, label=INVITATION_LABEL, sentence=INVITATION_SENTENCE, params=_invitation_params,
    link=_invitation_link,
    audience=lambda event: select(Voucher.holder_id.label("uid")).where(Voucher.id == event.subject_id),
    personal=True)

# A batch run whose official chose to invite the holders no account had: one outbox row; its
# audience is the holders of the run's vouchers whose accounts the run opened (ids above
# `users_before`, still without a password).
BATCH_INVITATION = "voucher.batch_invitation"


def _invited_holders(event):
    ctx = event.context
    return (select(Voucher.holder_id.label("uid")).join(User, User.id == Voucher.holder_id)
            .where(Voucher.programme_id == event.subject_id, Voucher.id >= ctx["first_id"],
                   Voucher.id <= ctx["last_id"], Voucher.holder_id > ctx["users_before"],
                   User.password_hash.is_(None)))


register_event(BATCH_INVITATION, label=INVITATION_LABEL, sentence=INVITATION_SENTENCE, params=_invitation_params,
               link=_invitation_link, audience=_invited_holders, personal=True)
