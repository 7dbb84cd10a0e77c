"""The co-op's web desk guards against charging a voucher twice by mistake.

Two slips cost money at a counter: the same voucher charged again a minute later (a second tap,
a queue of two carers of one holder), and the same form sent twice (a double click, a reload,
the back button). The first is asked about: `recent_redemption` finds the earlier charge and the
desk asks the cashier to confirm. The second is never charged again: each desk form carries a
one-time token, used as the redemption's idempotency key, so a replay answers the first sale.
The API keeps its own contract: a till sends its own idempotency keys and is not asked."""
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.database import utcnow
from app.extensions import db

from . import codes, idempotency
from .models import Redemption, Voucher
from .redemption import key_scope

# A desk form's token, as it is kept among the organisation's idempotency keys (beside the tills').
KEY_PREFIX = "desk:"


def new_form_token() -> str:
    return secrets.token_urlsafe(24)


def form_key(token: str | None) -> str | None:
    """The idempotency key of a desk form's token (None when the form came without one)."""
    return f"{KEY_PREFIX}{token}" if token else None


def form_already_sent(organisation_id: int, token: str | None) -> bool:
    """Whether a sale was made with this form already (then sending it again replays that sale)."""
    return bool(token) and idempotency.stored(key_scope(organisation_id), form_key(token)) is not None


def repeat_window() -> timedelta:
    return timedelta(minutes=current_app.config.get("PROCOMUN_DESK_REPEAT_MINUTES", 5))


def recent_redemption(typed_code: str, organisation_id: int, within: timedelta | None = None) -> Redemption | None:
    """The latest redemption of this voucher at this organisation within `within` (the setting by
    default), or None: also None for a code that is not one, which the redemption then refuses."""
    within = repeat_window() if within is None else within
    if within <= timedelta(0):
        return None
    try:
        code = codes.normalise(typed_code)
    except codes.CodeError:
        return None
    return db.session.execute(
        select(Redemption).join(Voucher, Voucher.id == Redemption.voucher_id)
        .where(Voucher.code == code, Redemption.organisation_id == organisation_id,
               Redemption.at >= utcnow() - within)
        .order_by(Redemption.id.desc()).limit(1)).scalar_one_or_none()
