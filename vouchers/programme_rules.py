"""A programme's rules for co-ops and holders (issue #23): how long a co-op may refund a sale,
and when its vouchers may be spent (the earliest day, the weekdays, the service hours).

The spending rules are checked where the money moves, in the redemption's own statement
(vouchers/redemption.py), so the desk, the tills' API and any other caller meet them alike."""
from datetime import date, time

from flask_babel import lazy_gettext as _l

from app.audit.operations import record, snapshot
from app.database import transaction
from app.errors import Invalid
from app.extensions import db

from .models import MAX_CENTS, Programme

RULE_FIELDS = ["refund_window_days", "spend_from", "spend_weekdays", "spend_minutes_from", "spend_minutes_until",
               "max_open_cents_per_holder"]
MAX_REFUND_DAYS = 365


def minutes(value: time | None) -> int | None:
    return None if value is None else value.hour * 60 + value.minute


def set_rules(programme: Programme, *, actor, refund_window_days: int, spend_from: date | None = None,
              weekdays: list[str] | str | None = None, hours_from: time | None = None,
              hours_until: time | None = None, max_open_cents_per_holder: int | None = None) -> Programme:
    """Change a programme's refund window and spending rules, for the redemptions from now on.

    Guarantees: a window of 0 to 365 days; weekdays among ISO 1–7, at least one when any is
    given (none: every day); service hours both or neither, the end after the start (none: all
    day); audited with the rules before and after."""
    if not isinstance(refund_window_days, int) or not 0 <= refund_window_days <= MAX_REFUND_DAYS:
        raise Invalid(_l("Give a number of days from 0 to %(max)s.", max=MAX_REFUND_DAYS), field="refund_window_days")
    days = "".join(sorted(set(weekdays or "")))
    if any(d not in "1234567" for d in days):
        raise Invalid(_l("Choose days of the week from Monday to Sunday."), field="weekdays")
    if (hours_from is None) != (hours_until is None):
        raise Invalid(_l("Give both the opening and the closing time, or neither."), field="hours_until")
    if hours_from is not None and minutes(hours_until) <= minutes(hours_from):
        raise Invalid(_l("The closing time must come after the opening time."), field="hours_until")
    if max_open_cents_per_holder is not None and not 0 < max_open_cents_per_holder <= MAX_CENTS:
        raise Invalid(_l("Give an amount above zero, or leave it empty for no cap."),
                      field="max_open")
    with transaction():
        before = snapshot(programme, RULE_FIELDS)
        programme.refund_window_days = refund_window_days
        programme.spend_from = spend_from
        programme.spend_weekdays = days if 0 < len(days) < 7 else None
        programme.spend_minutes_from = minutes(hours_from)
        programme.spend_minutes_until = minutes(hours_until)
        programme.max_open_cents_per_holder = max_open_cents_per_holder
        db.session.flush()
        record("voucher_programme.rules_changed", programme, actor=actor, before=before,
               after=snapshot(programme, RULE_FIELDS))
    return programme
