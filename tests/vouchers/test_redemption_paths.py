"""The redemption's two raw SQL paths (vouchers/redemption.py: one statement on PostgreSQL, a few
under BEGIN IMMEDIATE on SQLite) against the rules the rest of the platform keeps: the API's
documented body, one table of refusals, and the one shape of an idempotency key's row.

Every test here runs on SQLite and again on PostgreSQL (TEST_DATABASE_URL): the same expectations
hold for both paths, and each run checks that its own path was the one taken."""
import hashlib
from datetime import timedelta

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, update

from app import create_app
from app.config import ROOT
from app.database import utcnow
from app.errors import DomainError
from app.extensions import db
from app.i18n import city_timezone
from app.notifications.models import OutboxEvent
from app.organisations import operations as organisations
from vouchers import closing, codes, idempotency, issuance, redemption
from vouchers.api import RedemptionAnswer, RedemptionBody
from vouchers.models import Account, IdempotencyKey, Redemption, Transfer, Voucher

from ..app import test_migrations
from ..conftest import app_config, statements_run

URL = "/api/v1/vouchers/redemptions"
empty_database = test_migrations.empty_database  # a new SQLite file, or a new PostgreSQL schema
WRITTEN = (Transfer, Redemption, Account, OutboxEvent, IdempotencyKey)


def _counts() -> dict:
    return {model.__name__: db.session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in WRITTEN}


def _unknown_code() -> str:
    payload = "23456789ABC"
    return codes.group(payload + codes.check_character(payload))


def _mistyped(code: str) -> str:
    compact = code.replace("-", "")
    swapped = compact[1] + compact[0] + compact[2:]
    return swapped if swapped != compact else ("2" if compact[0] != "2" else "3") + compact[1:]


# case: (status, code) — the first refusal that applies, in the order the API documents.
REFUSALS = {
    "unknown code": (404, "unknown_code"),
    "mistyped code": (422, "bad_code"),
    "amount of zero": (422, "bad_amount"),
    "expired": (410, "expired"),
    "past its date, not yet expired by the nightly run": (410, "expired"),
    "revoked": (410, "revoked"),
    "spent entirely": (409, "exhausted"),
    "amount above what remains": (409, "amount_exceeds_remaining"),
    "category not covered": (403, "category_not_covered"),
    "accreditation suspended": (403, "not_accredited"),
    "organisation never accredited, without a ledger account": (403, "not_accredited"),
    "wrong PIN": (403, "wrong_pin"),
    "PIN missing": (403, "wrong_pin"),
    "idempotency key reused for another amount": (422, "idempotency_key_reused"),
    "idempotency key reused for an unknown code": (422, "idempotency_key_reused"),
    "revoked, and outside its categories": (410, "revoked"),
    "expired, and beyond its balance": (410, "expired"),
    "category not covered, and not accredited": (403, "category_not_covered"),
    "wrong PIN, and beyond its balance": (403, "wrong_pin"),
    "before the programme's first day of spending": (409, "not_yet_spendable"),
    "on a day the programme does not allow": (409, "closed_day"),
    "outside the programme's service hours": (409, "outside_service_hours"),
    "outside the service hours, and not accredited": (403, "not_accredited"),
    "outside the service hours, and a wrong PIN": (409, "outside_service_hours"),
}


def _arrange(case, city, make_org, make_user):
    """A voucher and the redemption `case` describes: (request fields, the member who sends them)."""
    pin = "4321" if "PIN" in case else None
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official, pin=pin)
    ask = {"code": voucher.code, "amount": 1000, "category": "elder-care", "pin": pin, "key": "till-1"}
    member = city.member
    if case == "unknown code":
        ask["code"] = _unknown_code()
    elif case == "mistyped code":
        ask["code"] = _mistyped(voucher.code)
    elif case == "amount of zero":
        ask["amount"] = 0
    elif case.startswith("expired"):
        closing.expire_vouchers(actor=city.official, on=city.today + timedelta(days=400))
    elif case.startswith("past its date"):
        db.session.execute(update(Voucher).where(Voucher.id == voucher.id)
                           .values(valid_until=city.today - timedelta(days=1)))
    elif case.startswith("revoked"):
        closing.revoke_voucher(voucher, "card lost", actor=city.official)
    elif case == "spent entirely":
        redemption.redeem(voucher.code, 5000, "elder-care", city.coop, actor=city.member)
    if case.startswith("category not covered") or case.endswith("outside its categories"):
        ask["category"] = "childcare"
    if case == "organisation never accredited, without a ledger account":
        newcomer = make_org("nuova-coop")
        member = make_user("org_member", organisations=[newcomer])
    if case.startswith("idempotency key reused"):
        redemption.redeem(voucher.code, 100, "elder-care", city.coop, actor=city.member, idempotency_key="till-1")
        if case.endswith("unknown code"):
            ask["code"] = _unknown_code()
    if case in ("accreditation suspended", "category not covered, and not accredited"):
        suspended = [a for a in organisations.accreditations_in_force(category_slug="elder-care")
                     if a.organisation_id == city.coop.id]
        organisations.suspend(suspended[0], "audit", actor=city.official)
    if case == "wrong PIN" or case.startswith("wrong PIN,"):
        ask["pin"] = "1111"
    if case == "PIN missing":
        ask["pin"] = None
    if "first day of spending" in case:
        city.programme.spend_from = city.today + timedelta(days=2)
    if "day the programme does not allow" in case:
        today = utcnow().astimezone(city_timezone()).isoweekday()
        city.programme.spend_weekdays = "".join(str(d) for d in range(1, 8) if d != today)
    if "service hours" in case:
        minute = (lambda t: t.hour * 60 + t.minute)(utcnow().astimezone(city_timezone()))
        city.programme.spend_minutes_from, city.programme.spend_minutes_until = (
            (0, 60) if minute >= 120 else (1320, 1439))
    if case.endswith("not accredited") and "service hours" in case:
        newcomer = make_org("nuova-coop")
        member = make_user("org_member", organisations=[newcomer])
    if case.endswith("a wrong PIN"):
        ask["pin"] = "1111"
    if "beyond" in case or case == "amount above what remains":
        ask["amount"] = 5001
    db.session.commit()
    return ask, member


@pytest.mark.parametrize("case", REFUSALS)
def test_both_paths_refuse_alike_and_move_nothing(city, make_org, make_user, api_client, backend, case):
    """One table of refusals for both paths: each case gets its status and code from the operation
    and from the API alike, writes no row (no transfer, redemption, account, notice or key), and
    is refused by this database's own path (REDEEM_PG, or SQLite's statements)."""
    ask, member = _arrange(case, city, make_org, make_user)
    status, code = REFUSALS[case]
    organisation = member.organisations[0]
    before = _counts()
    with statements_run() as statements, pytest.raises(DomainError) as refused:
        redemption.redeem(ask["code"], ask["amount"], ask["category"], organisation, actor=member,
                          pin=ask["pin"], idempotency_key=ask["key"])
    assert (refused.value.status, refused.value.code) == (status, code)
    if code not in ("bad_code", "bad_amount"):  # those are refused in Python before any SQL, on both
        path = [redemption.REDEEM_PG] if backend == "postgresql" else [
            redemption.SQLITE_STATEMENTS["voucher"], redemption.SQLITE_STATEMENTS["stored"]]
        assert any(statement in path for statement in statements), statements
    client, headers = api_client(member)
    body = {"code": ask["code"], "amount": ask["amount"], "service_category": ask["category"],
            "idempotency_key": ask["key"], **({"pin": ask["pin"]} if ask["pin"] else {})}
    response = client.post(URL, json=body, headers=headers)
    assert (response.status_code, response.json["error"]) == (status, code), response.json
    assert response.json["message"]
    db.session.expire_all()
    assert _counts() == before


def test_the_body_the_view_reads_is_redemption_body(city, api_client, client):
    """RedemptionBody documents the till's request (the view checks it by hand, for speed): every
    field it names is read, its required ones are refused when missing, its types are enforced,
    and the OpenAPI document shows exactly these fields."""
    fields = RedemptionBody().fields
    required = {name for name, field in fields.items() if field.required}
    documented = client.get("/api/v1/openapi.json").json["components"]["schemas"]["RedemptionBody"]
    assert set(documented["properties"]) == set(fields) and set(documented["required"]) == required
    assert required == {"code", "amount", "service_category", "idempotency_key"}
    assert set(fields) - required == {"organisation", "pin"}

    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official, pin="4321")
    till, headers = api_client(city.member)
    good = {"code": voucher.code, "amount": 100, "service_category": "elder-care", "idempotency_key": "k",
            "organisation": city.coop.slug, "pin": "4321"}
    assert set(good) == set(fields)
    for name in required:
        response = till.post(URL, json={k: v for k, v in good.items() if k != name}, headers=headers)
        assert response.status_code == 422 and set(response.json["errors"]) == {name}, (name, response.json)
    for name, field in fields.items():
        wrong = "ten" if field.__class__.__name__ == "Integer" else 10
        response = till.post(URL, json={**good, name: wrong}, headers=headers)
        assert response.status_code == 422 and set(response.json["errors"]) == {name}, (name, response.json)
    # The optional fields reach the operation: another organisation, another PIN.
    assert till.post(URL, json={**good, "organisation": city.other.slug}, headers=headers).json["error"] == \
        "not_member"
    assert till.post(URL, json={**good, "pin": "1111"}, headers=headers).json["error"] == "wrong_pin"
    response = till.post(URL, json=good, headers=headers)
    assert response.status_code == 201, response.json
    # The answer the raw SQL builds is RedemptionAnswer, field for field.
    assert set(response.json) == set(RedemptionAnswer().fields)
    assert response.json["remaining_cents"] == 4900 and response.json["organisation"] == city.coop.slug


def test_a_redemption_key_is_stored_in_the_shape_of_every_other_key(city, api_client):
    """One record shape: the redemption's own SQL stores {request: fingerprint, answer} with status
    201, as idempotency.once does for a contribution, and a retry reads it back through
    idempotency.replay."""
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    client, headers = api_client(city.member)
    redeemed = client.post(URL, headers=headers, json={"code": voucher.code.lower(), "amount": 700,
                                                       "service_category": "elder-care", "idempotency_key": "r1"})
    contributed = client.post("/api/v1/vouchers/contributions", headers=headers,
                              json={"amount_cents": 500, "idempotency_key": "c1"})
    assert redeemed.status_code == contributed.status_code == 201
    rows = {row.key: row for row in db.session.scalars(select(IdempotencyKey))}
    assert set(rows) == {"r1", "c1"}
    for row, answer in ((rows["r1"], redeemed.json), (rows["c1"], contributed.json)):
        assert row.status == 201
        assert set(row.response) == {"request", "answer"} and row.response["answer"] == answer
        assert len(row.response["request"]) == 64
    assert rows["r1"].response == idempotency.remembered(
        idempotency.fingerprint({"code": voucher.code, "amount": 700, "service_category": "elder-care"}),
        redeemed.json)
    again = client.post(URL, headers=headers, json={"code": voucher.code, "amount": 700,
                                                    "service_category": "elder-care", "idempotency_key": "r1"})
    assert again.json == redeemed.json and again.headers["Idempotent-Replayed"] == "true"


def test_a_fingerprint_is_the_canonical_json_of_the_request():
    """Stored keys outlive the code: the fingerprint of a body must not change between versions."""
    expected = hashlib.sha256(b'{"amount": 700, "code": "ABCD", "service_category": "elder-care"}').hexdigest()
    assert idempotency.fingerprint({"service_category": "elder-care", "code": "ABCD", "amount": 700}) == expected


def test_the_migration_gives_earlier_redemption_keys_the_one_shape(empty_database, tmp_path):
    """Keys stored by a redemption before 0020 held the answer alone: after the upgrade a retry of
    that request is still answered the first answer (and another request under the key refused);
    other writes' keys are left as they were; the downgrade gives the old rows back."""
    url, _schema = empty_database
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    before = ScriptDirectory.from_config(config).get_revision("0020_redemption_key_shape").down_revision
    answer = {"redemption_id": 7, "code": "ABCD-EFGH-JKMN", "amount_cents": 700, "remaining_cents": 4300,
              "organisation": "la-tela", "service_category": "elder-care", "at": "2026-12-01T10:00:00+00:00"}
    other = idempotency.remembered("f" * 64, {"contribution_id": 3})
    migrated = create_app(app_config(url, tmp_path / "instance"))
    with migrated.app_context():
        upgrade(revision=before)
        keys = IdempotencyKey.__table__
        with db.engine.begin() as conn:
            conn.execute(keys.insert(), [
                {"scope": "org:1", "key": "till-1", "status": 201, "response": answer, "at": utcnow()},
                {"scope": "user:2:contribution", "key": "c1", "status": 201, "response": other, "at": utcnow()}])
        upgrade(revision="0020_redemption_key_shape")
        stored = {row.key: row.response for row in db.session.execute(select(keys.c.key, keys.c.response))}
        asked = idempotency.fingerprint({"code": "ABCD-EFGH-JKMN", "amount": 700, "service_category": "elder-care"})
        assert stored == {"till-1": idempotency.remembered(asked, answer), "c1": other}
        assert idempotency.replay(stored["till-1"], asked) == answer
        with pytest.raises(idempotency.KeyReused):
            idempotency.replay(stored["till-1"], idempotency.fingerprint(
                {"code": "ABCD-EFGH-JKMN", "amount": 800, "service_category": "elder-care"}))
        db.session.rollback()
        downgrade(revision=before)
        stored = {row.key: row.response for row in db.session.execute(select(keys.c.key, keys.c.response))}
        assert stored == {"till-1": answer, "c1": other}
        db.session.remove()
        db.engine.dispose()
