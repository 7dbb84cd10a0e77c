"""The write APIs besides redemption: contributions, reversals, time credits; each with an
idempotency key (a retry answers the first answer and moves nothing twice), and the
citizen's movements."""
import threading

import pytest

from app.accounts.models import Role
from app.extensions import db
from vouchers import books, closing, issuance, ledger, redemption, settlement, time_credits
from vouchers.models import Contribution, IdempotencyKey, Redemption, Transfer

from ..conftest import at_once

API = "/api/v1/vouchers"


@pytest.fixture
def voucher(city):
    return issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)


def _count(model=Transfer):
    db.session.expire_all()
    return db.session.query(model).count()


def _assert_refused(response, status, error=None, field=None):
    assert response.status_code == status, response.json
    assert response.json["error"] and response.json["message"]
    if error:
        assert response.json["error"] == error, response.json
    if field:
        assert response.json.get("field") == field or field in response.json.get("errors", {}).get("json", {}), \
            response.json


# Contributions --------------------------------------------------------------------------

def test_a_citizen_contributes_and_a_retry_moves_nothing(city, api_client):
    client, headers = api_client(city.citizen)
    body = {"amount_cents": 2500, "idempotency_key": "gift-1"}
    first = client.post(f"{API}/contributions", json=body, headers=headers)
    assert first.status_code == 201, first.json
    assert first.json["amount_cents"] == 2500 and first.json["organisation"] is None
    assert first.json["receipt_url"].endswith(f"/vouchers/contributions/{first.json['contribution_id']}/receipt.pdf")
    transfers = _count()
    again = client.post(f"{API}/contributions", json=body, headers=headers)
    assert again.status_code == 201 and again.json == first.json
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert _count() == transfers and _count(Contribution) == 1
    assert books.pool_figures()["contributed_cents"] == 2500
    listed = client.get(f"{API}/contributions", headers=headers).json["contributions"]
    assert [c["contribution_id"] for c in listed] == [first.json["contribution_id"]]
    assert ledger.verify().ok


def test_a_member_contributes_for_their_organisation_only(city, api_client):
    client, headers = api_client(city.member)
    ok = client.post(f"{API}/contributions", headers=headers,
                     json={"amount_cents": 900, "organisation": "la-tela", "idempotency_key": "org-1"})
    assert ok.status_code == 201 and ok.json["organisation"] == "la-tela"
    refused = client.post(f"{API}/contributions", headers=headers,
                          json={"amount_cents": 900, "organisation": "casa-comune", "idempotency_key": "org-2"})
    _assert_refused(refused, 403, "not_member", "organisation")
    assert _count(Contribution) == 1


@pytest.mark.parametrize("body, status, error", [
    ({"amount_cents": 0, "idempotency_key": "k"}, 422, "unprocessable"),
    ({"amount_cents": "ten", "idempotency_key": "k"}, 422, "unprocessable"),
    ({"amount_cents": True, "idempotency_key": "k"}, 422, "unprocessable"),
    ({"amount_cents": 12.5, "idempotency_key": "k"}, 422, "unprocessable"),
    ({"amount_cents": 10**13, "idempotency_key": "k"}, 422, "unprocessable"),
    ({"amount_cents": 100}, 422, "unprocessable"),
    ({"amount_cents": 100, "idempotency_key": "x" * 101}, 422, "unprocessable"),
    (["not", "an", "object"], 422, "unprocessable"),
])
def test_malformed_contributions_are_refused_with_translated_reasons(city, api_client, body, status, error):
    client, headers = api_client(city.citizen)
    response = client.post(f"{API}/contributions", json=body, headers={**headers, "Accept-Language": "es"})
    _assert_refused(response, status, error)
    assert response.json["errors"]
    assert _count(Contribution) == 0 and _count(IdempotencyKey) == 0


def test_contributions_need_a_token(city, api_client):
    client, _headers = api_client(city.citizen)
    _assert_refused(client.post(f"{API}/contributions", json={"amount_cents": 1, "idempotency_key": "k"}),
                    401, "unauthorized")


def test_a_key_reused_for_another_request_is_refused(city, api_client):
    client, headers = api_client(city.citizen)
    client.post(f"{API}/contributions", json={"amount_cents": 100, "idempotency_key": "same"}, headers=headers)
    response = client.post(f"{API}/contributions", json={"amount_cents": 200, "idempotency_key": "same"},
                           headers=headers)
    _assert_refused(response, 422, "idempotency_key_reused", "idempotency_key")
    assert _count(Contribution) == 1
    # Keys are per caller: someone else's "same" is their own.
    other, other_headers = api_client(city.official)
    assert other.post(f"{API}/contributions", json={"amount_cents": 200, "idempotency_key": "same"},
                      headers=other_headers).status_code == 201


def test_concurrent_retries_with_one_key_contribute_once(city, app, backend):
    """Threads with their own connections send the same contribution with one key at once:
    one contribution is written and every thread gets its answer."""
    from app.accounts import operations as accounts
    token, _row = accounts.issue_token(city.citizen, "threads")
    db.session.commit()
    threads_n = 6
    barrier, answers = threading.Barrier(threads_n), []

    def worker():
        client = app.test_client()
        barrier.wait()
        answers.append(client.post(f"{API}/contributions", headers={"Authorization": f"Bearer {token}"},
                                   json={"amount_cents": 700, "idempotency_key": "at-once"}))
    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [201] * threads_n, [a.json for a in answers]
    assert len({a.json["contribution_id"] for a in answers}) == 1
    assert _count(Contribution) == 1
    assert books.pool_figures()["contributed_cents"] == 700
    assert ledger.verify().ok


# Reversals ------------------------------------------------------------------------------

def _redemption_transfer(city, voucher, amount=2000):
    result = redemption.redeem(voucher.code, amount, "elder-care", city.coop, actor=city.member)
    return db.session.get(Redemption, result.redemption_id).transfer_id


def test_an_official_reverses_a_redemption_once(city, voucher, api_client):
    transfer_id = _redemption_transfer(city, voucher)
    client, headers = api_client(city.official)
    body = {"reason": "charged twice", "idempotency_key": "rev-1"}
    first = client.post(f"{API}/transfers/{transfer_id}/reversal", json=body, headers=headers)
    assert first.status_code == 201, first.json
    assert first.json["reverses"] == transfer_id and first.json["amount"] == 2000
    assert first.json["reversed_kind"] == "redeem" and first.json["reason"] == "charged twice"
    db.session.expire_all()
    assert ledger.balance(voucher.account) == 5000 and redemption.organisation_balance(city.coop) == 0
    transfers = _count()
    again = client.post(f"{API}/transfers/{transfer_id}/reversal", json=body, headers=headers)
    assert again.status_code == 201 and again.json == first.json and _count() == transfers
    # A new key is a new request: the ledger refuses a second reversal.
    second = client.post(f"{API}/transfers/{transfer_id}/reversal", headers=headers,
                         json={"reason": "again", "idempotency_key": "rev-2"})
    _assert_refused(second, 409, "already_reversed", "reason")
    reversal = client.post(f"{API}/transfers/{first.json['reversal_id']}/reversal", headers=headers,
                           json={"reason": "undo the undo", "idempotency_key": "rev-3"})
    _assert_refused(reversal, 409, "is_reversal")
    assert _count() == transfers
    assert ledger.verify().ok


def test_a_settled_redemption_cannot_be_reversed(city, voucher, api_client):
    from datetime import timedelta

    from app.database import utcnow
    transfer_id = _redemption_transfer(city, voucher)
    db.session.query(Redemption).one().at = utcnow() - timedelta(days=1)
    db.session.commit()
    settlement.settle(city.today - timedelta(days=1), city.today - timedelta(days=1), actor=city.official)
    client, headers = api_client(city.official)
    transfers = _count()
    response = client.post(f"{API}/transfers/{transfer_id}/reversal", headers=headers,
                           json={"reason": "late", "idempotency_key": "rev-s"})
    _assert_refused(response, 409, "settled")
    payment = db.session.query(Transfer).filter_by(kind="settle").one().id
    response = client.post(f"{API}/transfers/{payment}/reversal", headers=headers,
                           json={"reason": "paid twice", "idempotency_key": "rev-p"})
    _assert_refused(response, 409, "settlement_payment")
    assert _count() == transfers


def test_a_spent_amount_cannot_come_back(city, voucher, api_client):
    issue_id = db.session.query(Transfer).filter_by(kind="issue").one().id
    _redemption_transfer(city, voucher, 100)
    client, headers = api_client(city.official)
    response = client.post(f"{API}/transfers/{issue_id}/reversal", headers=headers,
                           json={"reason": "wrong holder", "idempotency_key": "rev-i"})
    _assert_refused(response, 409, "insufficient_balance")


def test_a_redemption_reversed_after_the_voucher_closed_goes_back_to_the_programme(city, voucher, api_client):
    transfer_id = _redemption_transfer(city, voucher, 1500)
    closing.revoke_voucher(voucher, "holder moved away", actor=city.official)
    programme_before = ledger.balance(city.programme.account)
    client, headers = api_client(city.official)
    response = client.post(f"{API}/transfers/{transfer_id}/reversal", headers=headers,
                           json={"reason": "service not given", "idempotency_key": "rev-c"})
    assert response.status_code == 201, response.json
    assert ledger.balance(voucher.account) == 0 and redemption.organisation_balance(city.coop) == 0
    assert ledger.balance(city.programme.account) == programme_before + 1500
    assert ledger.verify().ok


def test_an_expiry_cannot_be_reversed(city, voucher, api_client):
    """Value put back on a closed voucher could never be spent nor expire again."""
    closing.revoke_voucher(voucher, "issued to the wrong person", actor=city.official)
    expiry_id = db.session.query(Transfer).filter_by(kind="expire").one().id
    client, headers = api_client(city.official)
    transfers = _count()
    response = client.post(f"{API}/transfers/{expiry_id}/reversal", headers=headers,
                           json={"reason": "revoked by mistake", "idempotency_key": "rev-e"})
    _assert_refused(response, 409, "voucher_closed", "reason")
    assert _count() == transfers and ledger.verify().ok


@pytest.mark.parametrize("case, status, error", [
    ("unknown", 404, "not_found"), ("huge-id", 404, "not_found"), ("no-reason", 422, "unprocessable"),
    ("blank-reason", 422, "invalid"), ("citizen", 403, "forbidden"), ("member", 403, "forbidden"),
    ("no-token", 401, "unauthorized"),
])
def test_reversal_refusals(city, voucher, api_client, case, status, error):
    transfer_id = _redemption_transfer(city, voucher)
    who = {"citizen": city.citizen, "member": city.member}.get(case, city.official)
    client, headers = api_client(who)
    body = {"reason": "mistake", "idempotency_key": "k"}
    if case == "unknown":
        transfer_id = 999_999
    elif case == "huge-id":
        transfer_id = 10**30
    elif case == "no-reason":
        body.pop("reason")
    elif case == "blank-reason":
        body["reason"] = "   "
    elif case == "no-token":
        headers = {}
    transfers = _count()
    response = client.post(f"{API}/transfers/{transfer_id}/reversal", json=body, headers=headers)
    _assert_refused(response, status, error)
    assert _count() == transfers and _count(IdempotencyKey) == 0


def test_two_officials_reversing_at_once_reverse_once(city, voucher, app, make_user, backend):
    from app.accounts import operations as accounts
    transfer_id = _redemption_transfer(city, voucher)
    officials = [city.official, make_user(Role.OFFICIAL, email="second@example.org")]
    tokens = [accounts.issue_token(o, "threads")[0] for o in officials] * 2
    db.session.commit()
    barrier, answers = threading.Barrier(len(tokens)), []

    def worker(i):
        client = app.test_client()
        barrier.wait()
        # Each official sends its request twice with its own key, at the same moment.
        answers.append(client.post(f"{API}/transfers/{transfer_id}/reversal",
                                   headers={"Authorization": f"Bearer {tokens[i]}"},
                                   json={"reason": "duplicate", "idempotency_key": "same-key"}))
    at_once(len(tokens), worker)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 201, 409, 409], [a.json for a in answers]
    assert len({a.json["reversal_id"] for a in answers if a.status_code == 201}) == 1
    db.session.expire_all()
    assert db.session.query(Transfer).filter_by(kind="reverse").count() == 1
    assert ledger.verify().ok


# Time credits ---------------------------------------------------------------------------

def test_a_member_records_time_and_the_volunteer_gives_it_to_a_relative(city, make_user, api_client):
    relative = make_user(Role.CITIZEN, email="grandma@example.org")
    org_client, org_headers = api_client(city.member)
    body = {"volunteer_email": "CITIZEN@example.org", "minutes": 90, "note": "Tuesday visit",
            "idempotency_key": "visit-1"}
    first = org_client.post(f"{API}/time-credits", json=body, headers=org_headers)
    assert first.status_code == 201, first.json
    assert first.json["organisation"] == "la-tela" and first.json["volunteer_email"] == "citizen@example.org"
    assert org_client.post(f"{API}/time-credits", json=body, headers=org_headers).json == first.json
    assert time_credits.time_balance(city.citizen) == 90

    client, headers = api_client(city.citizen)
    gift = {"relative_email": relative.email, "minutes": 60, "idempotency_key": "for-grandma"}
    given = client.post(f"{API}/time-credits/gifts", json=gift, headers=headers)
    assert given.status_code == 202, given.json
    assert given.json["minutes"] == 60 and "balance_minutes" not in given.json
    again = client.post(f"{API}/time-credits/gifts", json=gift, headers=headers)
    assert again.status_code == 202 and again.json == given.json
    assert time_credits.time_balance(city.citizen) == 30 and time_credits.time_balance(relative) == 60
    short = client.post(f"{API}/time-credits/gifts", headers=headers,
                        json={"relative_email": relative.email, "minutes": 31, "idempotency_key": "too-many"})
    _assert_refused(short, 409, "insufficient_balance")
    assert time_credits.time_balance(city.citizen) == 30
    assert ledger.verify().ok

    moves = client.get(f"{API}/movements", headers=headers).json
    assert [m["kind"] for m in moves["movements"]] == ["give-time", "earn-time"] and moves["older"] is None
    assert moves["movements"][0]["amount_out"] == 60 and moves["movements"][1]["amount_in"] == 90


@pytest.mark.parametrize("case, status, error", [
    ("unknown-volunteer", 404, "unknown_person"), ("too-many-minutes", 422, "unprocessable"),
    ("other-organisation", 403, "not_member"), ("citizen", 403, "forbidden"), ("no-token", 401, "unauthorized"),
    ("bad-email", 422, "unprocessable"),
])
def test_time_credit_refusals(city, api_client, case, status, error):
    client, headers = api_client(city.citizen if case == "citizen" else city.member)
    body = {"volunteer_email": city.citizen.email, "minutes": 60, "idempotency_key": "k"}
    if case == "unknown-volunteer":
        body["volunteer_email"] = "nobody@example.org"
    elif case == "too-many-minutes":
        body["minutes"] = 1441
    elif case == "other-organisation":
        body["organisation"] = "casa-comune"
    elif case == "no-token":
        headers = {}
    elif case == "bad-email":
        body["volunteer_email"] = "not an email"
    transfers = _count()
    _assert_refused(client.post(f"{API}/time-credits", json=body, headers=headers), status, error)
    assert _count() == transfers and time_credits.time_balance(city.citizen) == 0


@pytest.mark.parametrize("case, status, error", [
    ("myself", 422, "invalid"), ("short", 409, "insufficient_balance"),
    ("zero", 422, "unprocessable"), ("no-token", 401, "unauthorized"),
])
def test_time_gift_refusals(city, make_user, api_client, case, status, error):
    relative = make_user(Role.CITIZEN)
    time_credits.record_time(city.citizen, 30, city.coop, actor=city.member)
    client, headers = api_client(city.citizen)
    body = {"relative_email": relative.email, "minutes": 20, "idempotency_key": "k"}
    if case == "myself":
        body["relative_email"] = city.citizen.email
    elif case == "short":
        body["minutes"] = 31
    elif case == "zero":
        body["minutes"] = 0
    elif case == "no-token":
        headers = {}
    transfers = _count()
    _assert_refused(client.post(f"{API}/time-credits/gifts", json=body, headers=headers), status, error)
    assert _count() == transfers and time_credits.time_balance(city.citizen) == 30


def test_a_member_of_several_organisations_says_which_records_time(city, make_user, api_client):
    both = make_user(Role.ORG_MEMBER, organisations=[city.coop, city.other])
    client, headers = api_client(both)
    body = {"volunteer_email": city.citizen.email, "minutes": 15, "idempotency_key": "k"}
    _assert_refused(client.post(f"{API}/time-credits", json=body, headers=headers), 422, "organisation_required")
    ok = client.post(f"{API}/time-credits", json={**body, "organisation": "casa-comune"}, headers=headers)
    assert ok.status_code == 201 and ok.json["organisation"] == "casa-comune"


# Movements ------------------------------------------------------------------------------

def test_movements_are_the_callers_own_and_paged(city, voucher, api_client, monkeypatch):
    redemption.redeem(voucher.code, 300, "elder-care", city.coop, actor=city.member)
    client, headers = api_client(city.citizen)
    page = client.get(f"{API}/movements", headers=headers).json
    assert page["older"] is None and page["newer"] is None
    assert [(m["kind"], m["amount_in"], m["amount_out"]) for m in page["movements"]] == [
        ("redeem", 0, 300), ("issue", 5000, 0)]
    for n in range(3):
        redemption.redeem(voucher.code, 10 + n, "elder-care", city.coop, actor=city.member)
    monkeypatch.setattr(ledger.movements, "__kwdefaults__", {**ledger.movements.__kwdefaults__, "per_page": 2})
    # Two a page: 12 and 11, then 10 and 300, then the issue.
    first = client.get(f"{API}/movements", headers=headers).json
    older = client.get(f"{API}/movements?before={first['older']}", headers=headers).json
    oldest = client.get(f"{API}/movements?before={older['older']}", headers=headers).json
    assert [m["amount_out"] for m in first["movements"] + older["movements"] + oldest["movements"]] == [
        12, 11, 10, 300, 0]
    assert oldest["older"] is None and oldest["newer"]
    back = client.get(f"{API}/movements?after={older['newer']}", headers=headers).json
    assert back["movements"] == first["movements"]
    for bad in ("0.0.0", "x", "-1", "1" * 19):
        _assert_refused(client.get(f"{API}/movements?before={bad}", headers=headers), 422)
    other, other_headers = api_client(city.official)
    assert other.get(f"{API}/movements", headers=other_headers).json["movements"] == []
    _assert_refused(client.get(f"{API}/movements"), 401)


def test_the_new_writes_are_in_the_openapi_document(app, client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/vouchers/contributions", "/api/v1/vouchers/transfers/{transfer_id}/reversal",
                 "/api/v1/vouchers/time-credits", "/api/v1/vouchers/time-credits/gifts",
                 "/api/v1/vouchers/movements"):
        assert path in paths, sorted(paths)
    body = paths["/api/v1/vouchers/contributions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body
