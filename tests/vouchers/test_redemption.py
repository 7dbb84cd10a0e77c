"""Redemption: by operation and through POST /api/v1/vouchers/redemptions."""
import threading
from datetime import timedelta

import pytest

from app.accounts.models import Role
from app.errors import DomainError, NotAllowed
from app.extensions import db
from app.organisations import operations as organisations
from vouchers import closing, codes, issuance, ledger, redemption
from vouchers.models import Redemption, Transfer

from ..conftest import at_once, statements_run

URL = "/api/v1/vouchers/redemptions"


@pytest.fixture
def voucher(city):
    return issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)


def _post(client, headers, code, amount, category="elder-care", key="k1", **extra):
    return client.post(URL, json={"code": code, "amount": amount, "service_category": category,
                                  "idempotency_key": key, **extra}, headers=headers)


def _count(model):
    return db.session.query(model).count()


def test_partial_redemption_then_the_rest(city, voucher, api_client):
    client, headers = api_client(city.member)
    response = _post(client, headers, voucher.code.lower().replace("-", " "), 2000)
    assert response.status_code == 201, response.json
    assert response.json["remaining_cents"] == 3000
    assert response.json["redemption_id"]
    assert _post(client, headers, voucher.code, 3000, key="k2").json["remaining_cents"] == 0
    response = _post(client, headers, voucher.code, 1, key="k3")
    assert response.status_code == 409 and response.json["error"] == "exhausted"
    assert redemption.organisation_balance(city.coop) == 5000
    assert ledger.verify().ok


def test_a_redemption_answer_has_the_security_headers_and_no_session(city, voucher, api_client):
    """A till's call carries no cookie: nothing reads or writes a session for it (no Set-Cookie,
    no Vary: Cookie), and it gets the headers every answer gets."""
    client, headers = api_client(city.member)
    response = _post(client, headers, voucher.code, 100)
    assert response.status_code == 201, response.json
    assert "Set-Cookie" not in response.headers and "Cache-Control" not in response.headers
    assert "cookie" not in response.headers.get("Vary", "").lower()
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_same_idempotency_key_answers_the_same_and_moves_nothing(city, voucher, api_client):
    client, headers = api_client(city.member)
    first = _post(client, headers, voucher.code, 1200, key="retry-me")
    transfers = _count(Transfer)
    again = _post(client, headers, voucher.code.lower(), 1200, key="retry-me")
    assert again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert _count(Transfer) == transfers and _count(Redemption) == 1
    db.session.expire_all()
    assert ledger.balance(voucher.account) == 3800


@pytest.mark.parametrize("change", [{"amount": 999}, {"category": "home-care"}, {"code": "other"}])
def test_a_used_key_with_another_redemption_is_refused_and_moves_nothing(city, voucher, api_client, change):
    """A till that reuses a key for another sale is told so; it never gets the first sale's answer
    as if this one had been redeemed."""
    other = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    client, headers = api_client(city.member)
    assert _post(client, headers, voucher.code, 1200, key="sale-1").status_code == 201
    transfers = _count(Transfer)
    asked = {"code": voucher.code, "amount": 1200, "category": "elder-care", **change}
    if asked["code"] == "other":
        asked["code"] = other.code
    response = _post(client, headers, asked["code"], asked["amount"], category=asked["category"], key="sale-1")
    assert response.status_code == 422, response.json
    assert response.json["error"] == "idempotency_key_reused" and response.json["field"] == "idempotency_key"
    assert _count(Transfer) == transfers and _count(Redemption) == 1
    db.session.expire_all()
    assert ledger.balance(voucher.account) == 3800 and ledger.balance(other.account) == 5000


@pytest.mark.parametrize("case, status, error", [
    ("no-token", 401, "unauthorized"),
    ("bad-token", 401, "unauthorized"),
    ("not-accredited", 403, "not_accredited"),
    ("unknown", 404, "unknown_code"),
    ("too-much", 409, "amount_exceeds_remaining"),
    ("expired", 410, "expired"),
    ("revoked", 410, "revoked"),
    ("typo", 422, "bad_code"),
    ("malformed", 422, "unprocessable"),
    ("category", 403, "category_not_covered"),
    ("other-coop", 403, "not_member"),
])
def test_refusals_are_precise_and_move_nothing(city, voucher, api_client, make_category, case, status, error):
    client, headers = api_client(city.member)
    code, amount, category, extra = voucher.code, 1000, "elder-care", {}
    if case == "no-token":
        headers = {}
    elif case == "bad-token":
        headers = {"Authorization": "Bearer nope"}
    elif case == "not-accredited":
        acc = organisations.accreditations_in_force(category_slug="elder-care")
        organisations.suspend([a for a in acc if a.organisation_id == city.coop.id][0], "audit", actor=city.official)
    elif case == "unknown":
        payload = "23456789ABC"
        code = codes.group(payload + codes.check_character(payload))
    elif case == "too-much":
        amount = 5001
    elif case == "expired":
        closing.expire_vouchers(actor=city.official, on=city.today + timedelta(days=400))
    elif case == "revoked":
        closing.revoke_voucher(voucher, "lost card", actor=city.official)
    elif case == "typo":
        compact = code.replace("-", "")
        code = (compact[1] + compact[0] + compact[2:] if compact[0] != compact[1]
                else "2" + compact[1:] if compact[0] != "2" else "3" + compact[1:])
    elif case == "malformed":
        amount = "ten"
    elif case == "category":
        make_category("childcare")
        category = "childcare"
    elif case == "other-coop":
        extra = {"organisation": city.other.slug}
    db.session.commit()
    transfers = _count(Transfer)
    response = _post(client, headers, code, amount, category, **extra)
    assert response.status_code == status, response.json
    assert response.json["error"] == error
    assert response.json["message"]
    assert _count(Transfer) == transfers
    assert _count(Redemption) == 0


def test_a_member_of_several_organisations_names_which(city, voucher, make_user, api_client):
    both = make_user(Role.ORG_MEMBER, organisations=[city.coop, city.other])
    client, headers = api_client(both)
    response = _post(client, headers, voucher.code, 100)
    assert response.status_code == 422 and response.json["error"] == "organisation_required"
    response = _post(client, headers, voucher.code, 100, organisation="casa-comune")
    assert response.status_code == 201 and response.json["organisation"] == "casa-comune"


def test_citizens_cannot_redeem(city, voucher, api_client):
    client, headers = api_client(city.citizen)
    assert _post(client, headers, voucher.code, 100).status_code == 403


def test_holder_sees_the_redemption_at_once(city, voucher, api_client):
    client, headers = api_client(city.member)
    _post(client, headers, voucher.code, 700)
    holder, holder_headers = api_client(city.citizen)
    mine = holder.get("/api/v1/vouchers/mine", headers=holder_headers).json
    assert mine["vouchers"][0]["remaining_cents"] == 4300
    assert mine["vouchers"][0]["code"] == voucher.code
    org = client.get("/api/v1/vouchers/organisation", headers=headers).json
    assert org["unsettled_cents"] == 700 and org["redemptions"][0]["code"] == voucher.code


def test_a_pin_protected_voucher_needs_its_pin(city):
    voucher = issuance.issue_voucher(city.programme, city.citizen, 1000, actor=city.official, pin="4321")
    with pytest.raises(NotAllowed):
        redemption.redeem(voucher.code, 100, "elder-care", city.coop, actor=city.member, pin="1111")
    assert redemption.redeem(voucher.code, 100, "elder-care", city.coop, actor=city.member,
                             pin="4321").remaining_cents == 900


def test_concurrent_redemptions_never_exceed_the_value(city, voucher, app, backend):
    """Many threads, each with its own app context and connection, redeem the same voucher
    at once; the total redeemed never exceeds its value, and retries with one key move once."""
    db.session.commit()
    threads_n, amount = 12, 1000
    results, barrier = [], threading.Barrier(threads_n)
    code, coop_id, member_id = voucher.code, city.coop.id, city.member.id
    db.session.commit()  # end the test's read snapshot so it sees what the threads write

    def worker(i):
        with app.app_context(), app.test_request_context():
            from app.accounts.models import User
            from app.organisations.models import Organisation
            org, member = db.session.get(Organisation, coop_id), db.session.get(User, member_id)
            db.session.commit()
            barrier.wait()
            try:
                # Half the threads retry the same key: that pair must move once.
                key = f"key-{i // 2}" if i < 4 else f"key-{i}"
                results.append(redemption.redeem(code, amount, "elder-care", org, actor=member, idempotency_key=key))
            except Exception as error:  # noqa: BLE001 - collected and asserted on below
                results.append(error)
            finally:
                db.session.remove()

    at_once(threads_n, worker)
    db.session.expire_all()
    redeemed = db.session.query(db.func.sum(Redemption.amount_cents)).scalar()
    assert redeemed == 5000, results
    assert ledger.balance(voucher.account) == 0
    successes = [r for r in results if isinstance(r, redemption.RedemptionResult)]
    unexpected = [r for r in results if not isinstance(r, (redemption.RedemptionResult, DomainError))]
    assert not unexpected, unexpected
    assert len({r.redemption_id for r in successes}) == 5
    assert ledger.verify().ok


def test_redemption_api_runs_a_handful_of_statements(city, voucher, api_client, backend):
    """The hot path stays lean for the benchmark: no lazy loads, no audit-chain lock; on
    PostgreSQL the token lookup and ONE statement doing the whole redemption."""
    client, headers = api_client(city.member)
    code = voucher.code
    _post(client, headers, code, 100, key="warm-up")
    with statements_run() as statements:
        response = _post(client, headers, code, 100, key="measured")
    assert response.status_code == 201
    work = [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
                                                                        "RELEASE"))]
    assert not any("pg_advisory_xact_lock" in s or "audit_entries" in s for s in work), work
    # The token with roles and organisations; then on PostgreSQL one data-modifying WITH; on SQLite the
    # idempotency lookup, the voucher with every check, transfer, two balances, redemption, the open
    # books' running sum (one upsert; a CTE of the one statement on PostgreSQL), notice, key.
    assert len(work) <= (2 if backend == "postgresql" else 10), "\n".join(work)
    assert sum("INSERT INTO VOUCHER_BOOK_FIGURES" in s.upper() for s in work) == 1, work
    assert sum("INSERT INTO OUTBOX_EVENTS" in s.upper() for s in work) == 1, work
    assert sum("INSERT INTO VOUCHER_IDEMPOTENCY_KEYS" in s.upper() for s in work) == 1, work


@pytest.mark.parametrize("change, status, error", [
    ("revoked", 401, "unauthorized"),
    ("deactivated", 401, "unauthorized"),
    ("role", 403, "forbidden"),
    ("membership", 403, "not_member"),
])
def test_a_token_changed_since_the_last_call_is_refused_at_once(city, voucher, api_client, change, status, error):
    """The API may keep a token's identity for a few seconds (PostgreSQL): a token revoked, an
    account deactivated or stripped of its role or membership just after a redemption is refused
    on the very next call, which moves nothing, even when it replays the first call's key."""
    from app.accounts import operations as accounts
    from app.accounts.models import ApiToken
    client, headers = api_client(city.member)
    assert _post(client, headers, voucher.code, 100, key="first").status_code == 201
    if change == "revoked":
        for row in db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == city.member.id)):
            accounts.revoke_token(row, actor=city.official)
    elif change == "deactivated":
        accounts.set_active(city.member, False, actor=city.official)
    elif change == "role":
        accounts.set_roles(city.member, [Role.CITIZEN], [city.coop], actor=city.official)
    else:
        accounts.set_roles(city.member, [Role.ORG_MEMBER], [city.other], actor=city.official)
    db.session.commit()
    transfers = _count(Transfer)
    for key in ("second", "first"):
        response = _post(client, headers, voucher.code, 100, key=key, organisation=city.coop.slug)
        assert (response.status_code, response.json["error"]) == (status, error), response.json
        assert response.json["message"]
    assert _count(Transfer) == transfers and _count(Redemption) == 1


def test_a_retry_of_a_refusal_is_refused_alike_and_the_statement_is_written_once(city, voucher, api_client):
    """Refusals are not stored under the key: the same key may succeed once the cause is gone."""
    client, headers = api_client(city.member)
    assert _post(client, headers, voucher.code, 6000, key="k").json["error"] == "amount_exceeds_remaining"
    assert _post(client, headers, voucher.code, 6000, key="k").json["error"] == "amount_exceeds_remaining"
    response = _post(client, headers, voucher.code, 1000, key="k")
    assert response.status_code == 201 and response.json["remaining_cents"] == 4000
    assert _post(client, headers, voucher.code, 1000, key="k").json == response.json
    assert _count(Redemption) == 1


def test_the_first_redemption_of_an_organisation_opens_its_account(city, voucher, make_org, make_user,
                                                                    api_client):
    from app.organisations.models import ServiceCategory
    fresh = make_org("nuova-coop")
    care = db.session.scalars(db.select(ServiceCategory).where(ServiceCategory.slug == "elder-care")).one()
    organisations.accredit(fresh, care, city.today + timedelta(days=30), met_all=True)
    client, headers = api_client(make_user(Role.ORG_MEMBER, organisations=[fresh]))
    response = _post(client, headers, voucher.code, 700)
    assert response.status_code == 201 and response.json["organisation"] == "nuova-coop"
    assert redemption.organisation_balance(fresh) == 700
    assert ledger.verify().ok


@pytest.mark.parametrize("pin, amount, status, error", [
    (None, 100, 403, "wrong_pin"),
    ("1111", 100, 403, "wrong_pin"),
    ("4321", 0, 422, "bad_amount"),
    ("4321", 1001, 409, "amount_exceeds_remaining"),
    ("4321", 1000, 201, None),
])
def test_pin_and_amount_through_the_api(city, api_client, pin, amount, status, error):
    voucher = issuance.issue_voucher(city.programme, city.citizen, 1000, actor=city.official, pin="4321")
    client, headers = api_client(city.member)
    response = _post(client, headers, voucher.code, amount, **({"pin": pin} if pin else {}))
    assert response.status_code == status, response.json
    if error:
        assert response.json["error"] == error and response.json["message"]
        assert _count(Redemption) == 0
    else:
        assert response.json["remaining_cents"] == 0
        response = _post(client, headers, voucher.code, 1, key="after", pin=pin)
        assert (response.status_code, response.json["error"]) == (409, "exhausted")


def test_a_redemption_inside_a_larger_transaction_goes_with_it(city, voucher):
    """Called inside the caller's transaction, the redemption joins it (on PostgreSQL too, where
    alone it is one autocommitted statement): if the caller then fails, nothing remains."""
    from app.database import transaction
    transfers = _count(Transfer)
    with pytest.raises(RuntimeError):
        with transaction():
            redemption.redeem(voucher.code, 100, "elder-care", city.coop, actor=city.member, idempotency_key="inner")
            raise RuntimeError("the caller fails afterwards")
    db.session.expire_all()
    assert _count(Redemption) == 0 and _count(Transfer) == transfers
    assert ledger.balance(voucher.account) == 5000
    assert redemption.redeem(voucher.code, 100, "elder-care", city.coop, actor=city.member,
                             idempotency_key="inner").remaining_cents == 4900
