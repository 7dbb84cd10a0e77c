"""Refunds by the co-op (issue #23): by operation, through the API and on the desk's pages."""
import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.database import utcnow
from app.errors import DomainError
from app.extensions import db
from app.notifications.models import OutboxEvent
from app.notifications.worker import drain
from vouchers import closing, issuance, ledger, redemption, refunds, settlement
from vouchers.models import Redemption, Refund, Transfer, TransferKind, Voucher

from ..conftest import at_once, login, post_form


@pytest.fixture
def voucher(city):
    return issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)


def _sale(city, voucher, amount=3000, *, days_ago=0):
    result = redemption.redeem(voucher.code, amount, "elder-care", city.coop, actor=city.member)
    if days_ago:
        db.session.get(Redemption, result.redemption_id).at = utcnow() - timedelta(days=days_ago)
        db.session.commit()
    return db.session.get(Redemption, result.redemption_id)


def _url(redemption_id):
    return f"/api/v1/vouchers/redemptions/{redemption_id}/refund"


def _refund(client, headers, redemption_id, amount, key="r1", reason="The visit was cut short"):
    return client.post(_url(redemption_id), json={"amount": amount, "reason": reason, "idempotency_key": key},
                       headers=headers)


def test_partial_refunds_give_the_value_back_and_never_pass_the_sale(city, voucher):
    sale = _sale(city, voucher, 3000)
    first = refunds.refund(sale.id, 1000, "one hour not given", actor=city.member)
    assert (first.amount_cents, first.remaining_cents, first.voucher_remaining_cents) == (1000, 2000, 3000)
    assert not first.returned_to_programme
    second = refunds.refund(sale.id, 2000, "the rest was not given either", actor=city.member)
    assert second.remaining_cents == 0 and ledger.balance(voucher.account) == 5000
    with pytest.raises(DomainError) as refused:
        refunds.refund(sale.id, 1, "once more", actor=city.member)
    assert (refused.value.status, refused.value.code) == (422, "amount_exceeds_refundable")
    assert redemption.organisation_balance(city.coop) == 0
    assert db.session.get(Redemption, sale.id).refunded_cents == 3000
    kinds = db.session.execute(select(Transfer.kind).order_by(Transfer.id)).scalars().all()
    assert kinds.count(TransferKind.REFUND.value) == 2
    report = ledger.verify()
    assert report.ok, report.problems


def test_the_ledger_check_finds_a_refund_that_does_not_add_up(city, voucher):
    sale = _sale(city, voucher, 3000)
    refunds.refund(sale.id, 1000, "one hour not given", actor=city.member)
    assert ledger.verify().ok
    db.session.execute(update(Redemption).where(Redemption.id == sale.id).values(refunded_cents=500))
    db.session.commit()
    assert any("refunds do not add up" in problem for problem in ledger.verify().problems)


def test_a_refund_needs_a_reason_and_a_positive_amount_and_moves_nothing_without(city, voucher):
    sale = _sale(city, voucher)
    for amount, reason, field in ((0, "x", "amount"), (100, "   ", "reason"), (100, "x" * 301, "reason")):
        with pytest.raises(DomainError) as refused:
            refunds.refund(sale.id, amount, reason, actor=city.member)
        assert refused.value.field == field
    assert db.session.query(Refund).count() == 0


def test_only_within_the_programmes_window(city, voucher):
    sale = _sale(city, voucher, days_ago=15)
    with pytest.raises(DomainError) as refused:
        refunds.refund(sale.id, 100, "late", actor=city.member)
    assert (refused.value.status, refused.value.code) == (409, "refund_window_closed")
    city.programme.refund_window_days = 30
    db.session.commit()
    assert refunds.refund(sale.id, 100, "the programme allows a month", actor=city.member).remaining_cents == 2900


def test_a_settled_sale_is_not_refunded_and_settlement_pays_what_is_left(city, voucher, make_org):
    sale = _sale(city, voucher, 3000, days_ago=1)
    refunds.refund(sale.id, 1000, "a visit was shorter", actor=city.member)
    yesterday = city.today - timedelta(days=1)
    cleared, _created = settlement.settle(yesterday, yesterday, actor=city.official)
    assert cleared.total_cents == 2000 and [line.amount_cents for line in cleared.lines] == [2000]
    with pytest.raises(DomainError) as refused:
        refunds.refund(sale.id, 100, "after payment", actor=city.member)
    assert (refused.value.status, refused.value.code) == (409, "settled")
    assert ledger.verify().ok


def test_a_sale_refunded_in_full_is_not_settled(city, voucher):
    sale = _sale(city, voucher, 3000, days_ago=1)
    refunds.refund(sale.id, 3000, "the service was cancelled", actor=city.member)
    yesterday = city.today - timedelta(days=1)
    cleared, _created = settlement.settle(yesterday, yesterday, actor=city.official)
    assert cleared.total_cents == 0 and cleared.lines == []
    assert db.session.get(Redemption, sale.id).settlement_id is None
    assert ledger.verify().ok


def test_an_officials_reversal_after_a_partial_refund_moves_back_only_the_rest(city, voucher):
    sale = _sale(city, voucher, 3000)
    refunds.refund(sale.id, 1000, "one hour not given", actor=city.member)
    reversal_id = ledger.reverse(sale.transfer_id, actor=city.official, reason="the whole sale was a mistake")
    assert db.session.get(Transfer, reversal_id).amount == 2000
    assert ledger.balance(voucher.account) == 5000 and redemption.organisation_balance(city.coop) == 0
    with pytest.raises(DomainError) as refused:
        refunds.refund(sale.id, 100, "after the reversal", actor=city.member)
    assert refused.value.code == "reversed"
    assert ledger.verify().ok


def test_a_sale_refunded_in_full_cannot_be_reversed(city, voucher):
    sale = _sale(city, voucher, 3000)
    refunds.refund(sale.id, 3000, "cancelled", actor=city.member)
    with pytest.raises(ledger.NotReversible) as refused:
        ledger.reverse(sale.transfer_id, actor=city.official, reason="mistake")
    assert refused.value.code == "refunded"


def test_an_exhausted_voucher_can_be_spent_again_after_a_refund(city, voucher):
    sale = _sale(city, voucher, 5000)
    refunds.refund(sale.id, 1500, "half a visit", actor=city.member)
    again = redemption.redeem(voucher.code, 1500, "elder-care", city.coop, actor=city.member)
    assert again.remaining_cents == 0


def test_an_expired_voucher_passes_the_refund_on_to_its_programme_and_its_holder_is_told_so(city, voucher, smtp):
    sale = _sale(city, voucher, 3000)
    programme_before = ledger.balance(city.programme.account)
    db.session.get(Voucher, voucher.id).valid_until = city.today - timedelta(days=1)
    db.session.commit()
    closing.expire_vouchers(actor=city.official)
    result = refunds.refund(sale.id, 1000, "not given", actor=city.member)
    assert result.returned_to_programme and result.voucher_remaining_cents == 0
    assert ledger.balance(city.programme.account) == programme_before + 2000 + 1000
    assert ledger.verify().ok
    drain()
    [(rcpts, message)] = [m for m in smtp.messages if "refunded" in m[1]["Subject"]]
    assert rcpts == ["citizen@example.org"]
    assert "back to the programme" in message["Subject"]


def test_the_holder_is_told_and_the_refund_is_audited(city, voucher, smtp):
    sale = _sale(city, voucher, 3000)
    drain()
    smtp.messages.clear()
    refunds.refund(sale.id, 1000, "one hour not given", actor=city.member)
    event = db.session.execute(select(OutboxEvent).order_by(OutboxEvent.id.desc())).scalars().first()
    assert event.kind == "voucher.refunded" and event.context["remaining_cents"] == 3000
    drain()
    [(rcpts, message)] = smtp.messages
    assert rcpts == ["citizen@example.org"]
    assert "La Tela refunded €10.00 to your voucher" in message["Subject"]
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "voucher_redemption.refunded")
                               ).scalar_one()
    after = json.loads(entry.after)
    assert after["reason"] == "one hour not given" and after["refunded_cents"] == 1000


# The API ------------------------------------------------------------------------------------

def test_the_api_refunds_once_per_key_and_answers_the_contract(city, voucher, api_client):
    sale = _sale(city, voucher, 3000)
    client, headers = api_client(city.member)
    response = _refund(client, headers, sale.id, 1000)
    assert response.status_code == 201, response.json
    assert response.json["remaining_cents"] == 2000 and response.json["refund_id"]
    again = _refund(client, headers, sale.id, 1000)
    assert again.status_code == 201 and again.json == response.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.session.query(Refund).count() == 1 and ledger.balance(voucher.account) == 3000
    reused = _refund(client, headers, sale.id, 500)
    assert (reused.status_code, reused.json["error"]) == (422, "idempotency_key_reused")
    above = _refund(client, headers, sale.id, 2001, key="r2")
    assert (above.status_code, above.json["error"]) == (422, "amount_exceeds_refundable")
    assert _refund(client, headers, sale.id, 2000, key="r3").json["remaining_cents"] == 0
    assert ledger.verify().ok


def test_the_api_refuses_late_settled_strangers_and_nonsense(city, voucher, api_client, make_user):
    late = _sale(city, voucher, 1000, days_ago=20)
    client, headers = api_client(city.member)
    response = _refund(client, headers, late.id, 100)
    assert (response.status_code, response.json["error"]) == (409, "refund_window_closed")
    settled = _sale(city, voucher, 1000, days_ago=1)
    yesterday = city.today - timedelta(days=1)
    settlement.settle(yesterday, yesterday, actor=city.official)
    response = _refund(client, headers, settled.id, 100, key="r2")
    assert (response.status_code, response.json["error"]) == (409, "settled")
    fresh = _sale(city, voucher, 1000)
    other, other_headers = api_client(city.other_member)
    response = _refund(other, other_headers, fresh.id, 100)
    assert (response.status_code, response.json["error"]) == (403, "not_your_redemption")
    citizen, citizen_headers = api_client(city.citizen)
    assert _refund(citizen, citizen_headers, fresh.id, 100).status_code == 403
    assert _refund(client, {}, fresh.id, 100).status_code == 401
    assert _refund(client, headers, 999_999, 100).status_code == 404
    for body in ({"amount": "100", "reason": "x", "idempotency_key": "k"}, {"amount": 100, "idempotency_key": "k"},
                 {"amount": True, "reason": "x", "idempotency_key": "k"}, {"amount": 1, "reason": "x"}, []):
        response = client.post(_url(fresh.id), json=body, headers=headers)
        assert response.status_code == 422, body
    assert db.session.query(Refund).count() == 0


def test_concurrent_refunds_from_many_tills_never_pass_the_sale(city, voucher, app, api_client, backend):
    """Twelve clients refund 1000 of one 5000 sale at once (two of them with one key): exactly five
    succeed, the rest are told what is left, the key's pair moves once, and the ledger verifies."""
    sale = _sale(city, voucher, 5000)
    sale_id = sale.id
    clients = [api_client(city.member) for _ in range(12)]
    db.session.commit()
    barrier, answers = threading.Barrier(12), []

    def worker(i):
        client, headers = clients[i]
        barrier.wait()
        answers.append(_refund(client, headers, sale_id, 1000, key="same" if i < 2 else f"k{i}"))

    at_once(12, worker)
    db.session.expire_all()
    statuses = sorted(response.status_code for response in answers)
    assert all(status in (201, 422) for status in statuses), [(r.status_code, r.json) for r in answers]
    refused = [r.json["error"] for r in answers if r.status_code == 422]
    assert set(refused) <= {"amount_exceeds_refundable"}
    assert db.session.query(func.sum(Refund.amount_cents)).scalar() == 5000
    assert db.session.get(Redemption, sale_id).refunded_cents == 5000
    assert ledger.balance(voucher.account) == 5000
    report = ledger.verify()
    assert report.ok, report.problems


# The desk's pages --------------------------------------------------------------------------

def test_the_desk_lists_a_refund_link_and_the_form_refunds(city, voucher, client):
    sale = _sale(city, voucher, 3000)
    late = _sale(city, voucher, 1000, days_ago=20)
    login(client, "member@example.org")
    desk = client.get("/vouchers/desk").get_data(as_text=True)
    assert f"/vouchers/desk/redemptions/{sale.id}/refund" in desk
    assert f"/vouchers/desk/redemptions/{late.id}/refund" not in desk
    url = f"/vouchers/desk/redemptions/{sale.id}/refund"
    page = client.get(url)
    assert page.status_code == 200 and "Left to refund" in page.get_data(as_text=True)
    too_much = post_form(client, url, {"amount": "31.00", "reason": "all of it and more", "token": "t1"})
    assert too_much.status_code == 422
    assert "Only €30.00 of this redemption can still be refunded." in too_much.get_data(as_text=True)
    no_reason = post_form(client, url, {"amount": "10.00", "reason": "", "token": "t1"})
    assert no_reason.status_code == 422
    done = post_form(client, url, {"amount": "10.00", "reason": "one hour not given", "token": "t2"})
    assert done.status_code == 302
    twice = post_form(client, url, {"amount": "10.00", "reason": "one hour not given", "token": "t2"})
    assert twice.status_code == 302
    assert "the sale was refunded once" in client.get(url).get_data(as_text=True)
    # 5000, less the two sales (3000 and 1000), plus the refund of 1000
    assert db.session.query(Refund).count() == 1 and ledger.balance(voucher.account) == 2000
    assert "one hour not given" in client.get(url).get_data(as_text=True)
    closed = client.get(f"/vouchers/desk/redemptions/{late.id}/refund").get_data(as_text=True)
    assert "The time to refund this redemption ended" in closed


def test_the_refund_page_is_for_the_coop_that_redeemed_and_needs_csrf(city, voucher, client, make_user):
    sale = _sale(city, voucher, 3000)
    url = f"/vouchers/desk/redemptions/{sale.id}/refund"
    login(client, "other@example.org")
    assert client.get(url).status_code == 404  # another co-op's sale is not shown at all
    assert post_form(client, url, {"amount": "10.00", "reason": "x"}).status_code == 404
    client.get("/account/logout")
    login(client, "member@example.org")
    assert client.post(url, data={"amount": "10.00", "reason": "x"}).status_code == 400
    assert client.get("/vouchers/desk/redemptions/999999/refund").status_code == 404
    assert db.session.query(Refund).count() == 0


@pytest.mark.parametrize("locale,words", [("es", "Reembolsar"), ("it", "Rimborsa"), ("ca", "Reemborsa")])
def test_the_refund_page_speaks_each_language(city, voucher, client, make_user, locale, words):
    sale = _sale(city, voucher, 3000)
    make_user(Role.ORG_MEMBER, email=f"{locale}@example.org", organisations=[city.coop], locale=locale)
    login(client, f"{locale}@example.org")
    page = client.get(f"/vouchers/desk/redemptions/{sale.id}/refund", headers={"Accept-Language": locale})
    assert words in page.get_data(as_text=True)
