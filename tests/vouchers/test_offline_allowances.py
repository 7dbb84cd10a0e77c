"""Offline allowances (issue #24): the city signs what a desk may sell without a connection; sales
queued offline arrive once each; a conflict within the allowance is paid from the programme's
offline-risk budget, a sale beyond it is refused. On both databases."""
import base64
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import create_app
from app.books.notes import generate_key
from app.config import ConfigError
from app.database import utcnow
from app.extensions import db
from app.notifications.models import OutboxEvent
from vouchers import allowances, closing, documents, issuance, ledger, redemption, settlement
from vouchers.models import AccountKind, OfflineSale, Redemption, Transfer, TransferKind

from ..conftest import at_once, csrf_token, login


@pytest.fixture
def offline_city(city):
    allowances.set_offline_terms(city.programme, allowance_cents=5000, sales_per_day=1, validity_days=7,
                                 risk_budget_cents=20000, actor=city.official)
    city.voucher = issuance.issue_voucher(city.programme, city.citizen, 8000, actor=city.official)
    return city


def _signed(city):
    return allowances.sign(allowances.allowance_for(city.voucher))


def _sell(city, signed, amount, key, *, at=None, organisation=None):
    return allowances.record_offline_sale(organisation or city.coop, actor=city.member, allowance_text=signed,
                                          amount_cents=amount, category="elder-care", key=key,
                                          offline_at=at or utcnow() - timedelta(minutes=5))


def test_the_qr_carries_the_code_and_an_allowance_the_city_signed(offline_city):
    city = offline_city
    text = allowances.qr_text(city.voucher)
    expires = city.today + timedelta(days=7)
    assert text.startswith(f"PCV1.{city.voucher.code}.5000.1.{expires.isoformat()}.")
    signed_part, _, signature = text.rpartition(".")
    # The signature is over exactly the text before it, with the key the desk page publishes.
    public = allowances.public_key()
    public.verify(base64.urlsafe_b64decode(signature + "=="), signed_part.encode("ascii"))
    assert base64.urlsafe_b64decode(allowances.public_key_text() + "=") == public.public_bytes_raw()
    assert allowances.verified(text).max_cents == 5000


def test_no_allowance_when_the_programme_allows_none_or_the_voucher_cannot_be_spent(city):
    voucher = issuance.issue_voucher(city.programme, city.citizen, 3000, actor=city.official)
    assert allowances.qr_text(voucher) == voucher.code
    allowances.set_offline_terms(city.programme, allowance_cents=5000, sales_per_day=2, validity_days=3,
                                 risk_budget_cents=0, actor=city.official)
    # Never more than the voucher holds, never beyond its last day.
    allowance = allowances.allowance_for(voucher)
    assert allowance.max_cents == 3000 and allowance.sales_per_day == 2
    closing.revoke_voucher(voucher, "lost", actor=city.official)
    assert allowances.allowance_for(voucher) is None


def test_a_forged_allowance_is_refused(offline_city):
    city = offline_city
    signed = _signed(city)
    text, _, signature = signed.rpartition(".")
    raised = text.replace(".5000.", ".50000.")
    # One bit of the signature flipped: a fixed replacement such as "AA" is, once in 256 keys, the same bytes.
    flipped = bytearray(base64.urlsafe_b64decode(signature + "=="))
    flipped[0] ^= 1
    tampered = base64.urlsafe_b64encode(bytes(flipped)).decode("ascii").rstrip("=")
    # The last character carries two bits; the next letter spells the same bytes another way.
    respelled = signature[:-1] + chr(ord(signature[-1]) + 1)
    for forged in (f"{raised}.{signature}", f"{text}.{tampered}", f"{text}.{respelled}", text, "ABCD-EFGH-JKMN"):
        with pytest.raises(allowances.AllowanceRefused) as refused:
            _sell(city, forged, 1000, f"forged-{len(forged)}-{forged[-3:]}")
        assert refused.value.code == "forged"
    assert db.session.execute(select(func.count(OfflineSale.id))).scalar_one() == 0
    assert db.session.execute(select(func.count(Redemption.id))).scalar_one() == 0


def test_the_risk_budget_comes_from_the_pool_and_cannot_go_below_what_it_paid(offline_city):
    city = offline_city
    risk = allowances.risk_account(city.programme)
    assert risk.balance == 20000 and risk.kind == AccountKind.OFFLINE_RISK
    allowances.set_offline_terms(city.programme, allowance_cents=5000, sales_per_day=1, validity_days=7,
                                 risk_budget_cents=15000, actor=city.official)
    assert ledger.balance(risk) == 15000
    assert ledger.verify().ok


def test_an_offline_sale_is_redeemed_once_whatever_the_retries(offline_city):
    city = offline_city
    signed = _signed(city)
    sold_at = utcnow() - timedelta(hours=2)
    sale, replayed = _sell(city, signed, 1200, "scan-0001", at=sold_at)
    assert not replayed and sale.outcome == "redeemed" and sale.redemption_id
    again, replayed = _sell(city, signed, 1200, "scan-0001", at=sold_at)
    assert replayed and again.id == sale.id
    assert db.session.execute(select(func.count(Redemption.id))).scalar_one() == 1
    assert ledger.balance(city.voucher.account) == 8000 - 1200
    # The time the cashier sold it beside the time it arrived.
    assert abs((sale.offline_at - sold_at).total_seconds()) < 1 and sale.synced_at > sale.offline_at
    # The same key for another sale is refused, not answered with the first.
    with pytest.raises(Exception, match="another offline sale"):
        _sell(city, signed, 1300, "scan-0001", at=sold_at)
    assert ledger.verify().ok


def test_a_conflict_within_the_allowance_is_paid_from_the_risk_budget_and_settled(offline_city):
    city = offline_city
    signed = _signed(city)
    # Meanwhile the holder spent it all at another co-op, online.
    redemption.redeem(city.voucher.code, 8000, "elder-care", city.other, actor=city.other_member)
    yesterday = utcnow() - timedelta(days=1)
    sale, _ = _sell(city, signed, 2500, "scan-conflict", at=yesterday)
    assert sale.outcome == "honoured" and sale.reason == "exhausted"
    transfer = db.session.get(Transfer, sale.transfer_id)
    assert transfer.kind == TransferKind.OFFLINE_RISK and transfer.amount == 2500
    assert ledger.balance(allowances.risk_account(city.programme)) == 20000 - 2500
    assert allowances.risk_paid(city.programme) == 2500
    assert redemption.organisation_balance(city.coop) == 2500
    notice = db.session.execute(select(OutboxEvent).where(OutboxEvent.kind == "voucher.offline_honoured")).scalar_one()
    assert notice.subject_id == city.voucher.id
    assert ledger.verify().ok
    # The settlement pays it to the co-op beside its redemptions, and its statement lists it.
    db.session.get(OfflineSale, sale.id).synced_at = yesterday
    db.session.commit()
    day = city.today - timedelta(days=1)
    cleared, _ = settlement.settle(day, day)
    line = next(line for line in cleared.lines if line.organisation_id == city.coop.id)
    assert line.amount_cents == 2500
    assert [s.id for s in settlement.statement_offline_honoured(cleared, city.coop)] == [sale.id]
    # Its spreadsheet has the sale too, so that its rows sum to what the co-op is paid.
    rows = list(documents.statement_rows(cleared, line))
    assert [row[-2:] for row in rows] == [[sale.id, "offline_risk_budget"]]
    assert sum(row[4] - row[5] for row in rows) == line.amount_cents
    assert redemption.organisation_balance(city.coop) == 0
    assert ledger.verify().ok


def test_a_revoked_voucher_is_honoured_and_a_sale_beyond_the_allowance_refused(offline_city):
    city = offline_city
    signed = _signed(city)
    closing.revoke_voucher(city.voucher, "reported stolen", actor=city.official)
    sale, _ = _sell(city, signed, 5000, "scan-revoked")
    assert (sale.outcome, sale.reason) == ("honoured", "revoked")
    beyond, _ = _sell(city, signed, 100, "scan-beyond")
    assert (beyond.outcome, beyond.reason) == ("refused", "beyond_allowance")
    # Another allowance of the same voucher (a QR refreshed earlier) adds no risk: one allowance per voucher.
    earlier = allowances.sign(allowances.Allowance(city.voucher.code, 5000, 1, city.today + timedelta(days=2)))
    other, _ = _sell(city, earlier, 1000, "scan-earlier-qr", at=utcnow() - timedelta(days=1))
    assert (other.outcome, other.reason) == ("refused", "beyond_allowance")
    assert ledger.balance(allowances.risk_account(city.programme)) == 15000
    assert ledger.verify().ok


def test_the_allowance_limits_sales_a_day_and_its_last_day(offline_city):
    city = offline_city
    signed = _signed(city)
    first, _ = _sell(city, signed, 1000, "scan-day-1")
    second, _ = _sell(city, signed, 1000, "scan-day-2")
    assert first.outcome == "redeemed"
    assert (second.outcome, second.reason) == ("refused", "too_many_today")
    # A QR refreshed the same day does not give another sale that day.
    refreshed = allowances.sign(allowances.Allowance(city.voucher.code, 4000, 1, city.today + timedelta(days=3)))
    third, _ = _sell(city, refreshed, 500, "scan-day-3")
    assert (third.outcome, third.reason) == ("refused", "too_many_today")
    # An allowance signed earlier, whose last day was yesterday: a sale made today is beyond it.
    old = allowances.Allowance(city.voucher.code, 5000, 1, city.today - timedelta(days=1))
    after, _ = _sell(city, allowances.sign(old), 500, "scan-late", at=utcnow())
    assert (after.outcome, after.reason) == ("refused", "allowance_expired")
    assert db.session.execute(select(func.count(Redemption.id))).scalar_one() == 1


def test_the_risk_budget_pays_no_more_than_it_holds(city):
    allowances.set_offline_terms(city.programme, allowance_cents=5000, sales_per_day=1, validity_days=7,
                                 risk_budget_cents=1000, actor=city.official)
    voucher = issuance.issue_voucher(city.programme, city.citizen, 3000, actor=city.official)
    signed = allowances.sign(allowances.allowance_for(voucher))
    redemption.redeem(voucher.code, 3000, "elder-care", city.other, actor=city.other_member)
    sale, _ = allowances.record_offline_sale(city.coop, actor=city.member, allowance_text=signed, amount_cents=2000,
                                             category="elder-care", key="scan-budget", offline_at=utcnow())
    assert (sale.outcome, sale.reason) == ("refused", "risk_budget_spent")
    assert ledger.verify().ok


def test_the_same_sale_sent_at_once_moves_once(offline_city, app):
    city = offline_city
    signed = _signed(city)
    coop_id, member_id = city.coop.id, city.member.id
    barrier, answers = threading.Barrier(4), []
    db.session.commit()

    def worker(i):
        with app.app_context(), app.test_request_context():
            from app.accounts.models import User
            from app.organisations.models import Organisation
            org, member = db.session.get(Organisation, coop_id), db.session.get(User, member_id)
            db.session.commit()
            barrier.wait()
            try:
                sale, replayed = allowances.record_offline_sale(
                    org, actor=member, allowance_text=signed, amount_cents=1500, category="elder-care",
                    key="scan-two-tabs", offline_at=utcnow())
                answers.append((sale.outcome, replayed))
            except Exception as error:  # noqa: BLE001 - collected and asserted on below
                answers.append(error)
            finally:
                db.session.remove()

    at_once(4, worker)
    assert sorted(answers) == [("redeemed", False), ("redeemed", True), ("redeemed", True), ("redeemed", True)]
    db.session.expire_all()
    assert db.session.execute(select(func.count(Redemption.id))).scalar_one() == 1
    assert ledger.balance(city.voucher.account) == 8000 - 1500
    assert ledger.verify().ok


def test_the_desk_sends_a_queued_sale_with_its_session_and_csrf_token(offline_city, app):
    city = offline_city
    client = app.test_client()
    login(client, city.member.email)
    body = {"key": "scan-from-desk", "allowance": _signed(city), "amount_cents": 700, "category": "elder-care",
            "offline_at": (utcnow() - timedelta(minutes=3)).isoformat().replace("+00:00", "Z")}
    assert client.post("/vouchers/desk/offline-sales", json=body).status_code == 400  # no CSRF token
    headers = {"X-CSRFToken": csrf_token(client, "/vouchers/desk")}
    first = client.post("/vouchers/desk/offline-sales", json=body, headers=headers)
    assert first.status_code == 201 and first.json["outcome"] == "redeemed"
    again = client.post("/vouchers/desk/offline-sales", json=body, headers=headers)
    assert again.status_code == 200 and again.json["replayed"] and again.json["redemption_id"] == first.json[
        "redemption_id"]
    bad = client.post("/vouchers/desk/offline-sales", json=dict(body, key="x", amount_cents="7"), headers=headers)
    assert bad.status_code == 422 and bad.json["error"]
    forged = client.post("/vouchers/desk/offline-sales", headers=headers,
                         json=dict(body, key="scan-forged-1", allowance=body["allowance"][:-4] + "AAAA"))
    assert forged.status_code == 422 and forged.json["error"] == "forged"
    assert client.post("/vouchers/desk/offline-sales", data="nope", headers=headers).status_code == 400


def test_officials_set_the_terms_and_see_the_conflicts(offline_city, app):
    city = offline_city
    signed = _signed(city)
    redemption.redeem(city.voucher.code, 8000, "elder-care", city.other, actor=city.other_member)
    _sell(city, signed, 2500, "scan-page")
    client = app.test_client()
    login(client, city.official.email)
    page = client.get("/vouchers/offline").get_data(as_text=True)
    assert "Home care 2027" in page and "La Tela" in page and city.voucher.code in page
    token = csrf_token(client, f"/vouchers/programmes/{city.programme.slug}/offline")
    response = client.post(f"/vouchers/programmes/{city.programme.slug}/offline", data={
        "csrf_token": token, "allowance": "30", "sales_per_day": "2", "validity_days": "5", "risk_budget": "10"})
    assert response.status_code == 422  # below the 25.00 it has paid
    assert "cannot be lower" in response.get_data(as_text=True)
    response = client.post(f"/vouchers/programmes/{city.programme.slug}/offline", data={
        "csrf_token": token, "allowance": "30", "sales_per_day": "2", "validity_days": "5", "risk_budget": "300"})
    assert response.status_code == 302
    db.session.expire_all()
    assert city.programme.offline_allowance_cents == 3000 and city.programme.offline_risk_budget_cents == 30000
    assert ledger.balance(allowances.risk_account(city.programme)) == 30000 - 2500
    assert ledger.verify().ok


def test_the_desk_page_carries_the_city_key_the_manifest_and_the_worker(offline_city, app):
    client = app.test_client()
    login(client, offline_city.member.email)
    page = client.get("/vouchers/desk").get_data(as_text=True)
    assert f'data-city-key="{allowances.public_key_text()}"' in page
    assert 'rel="manifest" href="/vouchers/desk.webmanifest"' in page
    manifest = client.get("/vouchers/desk.webmanifest")
    assert manifest.mimetype == "application/manifest+json" and manifest.json["start_url"] == "/vouchers/desk"
    worker = client.get("/vouchers/desk-sw.js")
    assert worker.mimetype == "text/javascript" and "/static/desk/offline-desk.js" in worker.get_data(as_text=True)


def test_production_refuses_to_start_without_the_offline_key(tmp_path):
    books_key = tmp_path / "books-key.pem"
    generate_key(books_key)
    env = {"PROCOMUN_ENV": "production", "SECRET_KEY": "x" * 48, "AUDIT_KEY": "a" * 48,
           "PROCOMUN_BASE_URL": "https://procomun.city.example", "PROCOMUN_BOOKS_KEY_FILE": str(books_key)}
    for path in (None, str(tmp_path / "missing")):
        with pytest.raises(ConfigError, match="PROCOMUN_OFFLINE_KEY_FILE"):
            create_app({"INSTANCE_PATH": str(tmp_path)}, env=env if path is None else
                       dict(env, PROCOMUN_OFFLINE_KEY_FILE=path))
    key = tmp_path / "offline.key"
    key.write_text("11" * 32)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"},
                     env=dict(env, PROCOMUN_OFFLINE_KEY_FILE=str(key)))
    assert app.config["PROCOMUN_OFFLINE_KEY_FILE"] == str(key)


def test_the_holders_page_shows_the_allowance_its_qr_carries(offline_city, app):
    city = offline_city
    client = app.test_client()
    login(client, city.citizen.email)
    page = client.get(f"/vouchers/mine/{city.voucher.id}").get_data(as_text=True)
    assert "A desk without a connection may charge up to" in page and "data-offline-allowance" in page
    assert client.get(f"/vouchers/mine/{city.voucher.id}/qr.svg").status_code == 200
