"""The demo city tells one true story (issue #19): whatever `flask demo` loads, across every module,
agrees with itself on the day it is loaded."""
import re
from collections import Counter

import pytest
from sqlalchemy import select

from app.demo import DEMO_PASSWORD
from app.extensions import db
from app.i18n import city_today
from pacts.models import Pact, PactEvent, PactState, PactVersion, Signature
from tests.conftest import login
from vouchers.models import Programme, ProgrammeStatus, Redemption, Voucher


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return city_today()


def test_every_voucher_is_issued_before_it_is_redeemed(demo):
    rows = db.session.execute(select(Voucher.code, Voucher.issued_at, Redemption.at)
                              .join(Redemption, Redemption.voucher_id == Voucher.id)).all()
    assert rows
    assert [code for code, issued, redeemed in rows if redeemed < issued] == []


def _city_day(moment):
    """The city's day of a stored instant (UTC): what a pact's dates are written in."""
    from datetime import timezone

    from app.i18n import city_timezone
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(city_timezone()).date()


def test_pacts_are_signed_before_they_come_into_force(demo):
    rows = db.session.execute(select(Pact.title, Pact.starts_on, Signature.signed_at)
                              .join(PactVersion, PactVersion.pact_id == Pact.id)
                              .join(Signature, Signature.version_id == PactVersion.id)).all()
    assert rows
    assert [(title, str(starts), str(signed)) for title, starts, signed in rows
            if starts is None or _city_day(signed) > starts] == []
    # …and put in force (the history's "active" step) after the signatures, not before.
    activations = db.session.execute(select(Pact.title, PactEvent.at, Pact.starts_on)
                                     .join(PactEvent, PactEvent.pact_id == Pact.id)
                                     .where(PactEvent.to_state == PactState.ACTIVE.value,
                                            PactEvent.from_state == PactState.SIGNED.value)).all()
    assert activations
    assert [title for title, at, starts in activations if _city_day(at) < starts] == []


def test_nothing_is_active_past_its_end(demo):
    pacts = db.session.execute(select(Pact.title, Pact.ends_on).where(
        Pact.state.in_([PactState.ACTIVE.value, PactState.SIGNED.value, PactState.SUSPENDED.value]))).all()
    assert pacts
    assert [title for title, ends in pacts if ends is None or ends < demo] == []
    programmes = db.session.execute(select(Programme.slug, Programme.valid_until)
                                    .where(Programme.status == ProgrammeStatus.OPEN.value)).all()
    assert programmes
    assert [slug for slug, until in programmes if until < demo] == []
    vouchers = db.session.execute(select(Voucher)).scalars().all()
    assert [v.code for v in vouchers if v.state_on(demo) in ("active", "spent") and v.valid_until < demo] == []
    # An expired voucher really ended before today: the demo does not expire what is still valid.
    assert [v.code for v in vouchers if v.status == "expired" and v.valid_until >= demo] == []


def test_each_proposal_says_its_own_what(demo):
    whats = Counter(db.session.execute(select(Pact.what)).scalars().all())
    assert len(whats) > 3
    assert [what[:60] for what, count in whats.items() if count > 1] == []


def test_a_voucher_valid_until_today_is_shown_as_valid(app, demo):
    today_vouchers = db.session.execute(select(Voucher).where(Voucher.valid_until == demo)).scalars().all()
    assert today_vouchers, "the demo shows a voucher in its last day"
    for voucher in today_vouchers:
        assert voucher.state_on(demo) == "active"
        client = app.test_client()
        login(client, voucher.holder.email, DEMO_PASSWORD)
        page = client.get(f"/vouchers/mine/{voucher.id}").get_data(as_text=True)
        assert re.search(r"<dt>Status</dt><dd>Active</dd>", page), page[:3000]
        assert "can no longer be spent" not in page
