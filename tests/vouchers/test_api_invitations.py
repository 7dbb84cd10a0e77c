"""The API as careful as the web pages (issue #19): issuing to an email no account has is refused
with a stable code unless the body asks to invite; a gift of minutes never tells whether an email
has an account."""
import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.extensions import db
from app.notifications.worker import drain
from vouchers import ledger, time_credits
from vouchers.models import Transfer, Voucher

API = "/api/v1/vouchers"
LINK = re.compile(r"http://[^/\s]+/account/reset/([A-Za-z0-9_-]+)")
TYPO = "citizen2@villanova.exmaple"


def _account(email):
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def _vouchers() -> int:
    return db.session.execute(select(func.count()).select_from(Voucher)).scalar_one()


def _issue(client, headers, city, **body):
    return client.post(f"{API}/programmes/{city.programme.slug}/vouchers", headers=headers,
                       json={"amount_cents": 5000, "idempotency_key": "k-1", **body})


def test_issuing_to_an_unknown_email_is_refused_with_a_stable_code(app, city, api_client):
    client, headers = api_client(city.official)
    refused = _issue(client, headers, city, holder_email=TYPO)
    assert refused.status_code == 422, refused.json
    assert refused.json["error"] == "unknown_person" and refused.json["field"] == "holder_email"
    assert '"invite": true' in refused.json["message"]
    assert _account(TYPO) is None and _vouchers() == 0
    issued = _issue(client, headers, city, holder_email=city.citizen.email.upper(), idempotency_key="k-2")
    assert issued.status_code == 201, issued.json
    assert issued.json["holder_email"] == city.citizen.email and issued.json["invited"] is False
    assert issued.json["value_cents"] == 5000 and issued.json["programme"] == city.programme.slug
    again = _issue(client, headers, city, holder_email=city.citizen.email.upper(), idempotency_key="k-2")
    assert again.status_code == 201 and again.json == issued.json and _vouchers() == 1


def test_issuing_with_invite_opens_the_account_and_sends_the_invitation(app, city, api_client, smtp):
    client, headers = api_client(city.official)
    done = _issue(client, {**headers, "Accept-Language": "it"}, city, holder_email="nuova@example.org", invite=True)
    assert done.status_code == 201, done.json
    assert done.json["invited"] is True
    person = _account("nuova@example.org")
    assert person.password_hash is None
    drain()
    sent = [m for to, m in smtp.messages if to == ["nuova@example.org"]
            and LINK.search(m.get_body(("plain",)).get_content())]
    assert len(sent) == 1 and sent[0]["Subject"] == "Ti è stato dato un buono: scegli la tua password"


@pytest.mark.parametrize("body, status, error, field", [
    ({"holder_email": "citizen@example.org", "amount_cents": 10**9}, 422, "invalid", "amount_cents"),
    ({"holder_email": "citizen@example.org", "amount_cents": None}, 422, "invalid", "amount_cents"),
    ({"holder_email": "citizen@example.org", "invite": "perhaps"}, 422, "unprocessable", "invite"),
    ({"holder_email": "citizen@example.org", "valid_until": "someday"}, 422, "unprocessable", "valid_until"),
    ({"holder_email": "not an email"}, 422, "unprocessable", "holder_email"),
])
def test_issuance_refusals_name_their_field(app, city, api_client, body, status, error, field):
    client, headers = api_client(city.official)
    refused = _issue(client, headers, city, **body)
    assert refused.status_code == status and refused.json["error"] == error, refused.json
    assert refused.json.get("field") == field or field in refused.json.get("errors", {}), refused.json
    assert _vouchers() == 0


def test_only_officials_issue_and_an_unknown_programme_is_404(app, city, api_client):
    client, headers = api_client(city.citizen)
    assert _issue(client, headers, city, holder_email=city.citizen.email).status_code == 403
    client, headers = api_client(city.official)
    missing = client.post(f"{API}/programmes/nothing/vouchers", headers=headers,
                          json={"holder_email": city.citizen.email, "amount_cents": 100, "idempotency_key": "x"})
    assert missing.status_code == 404 and _vouchers() == 0


def test_a_gift_answers_the_same_whether_or_not_the_email_has_an_account(app, city, make_user, api_client):
    relative = make_user(Role.CITIZEN, email="grandma@example.org")
    time_credits.record_time(city.citizen, 90, city.coop, actor=city.member)
    client, headers = api_client(city.citizen)
    answers = {}
    for email in (relative.email, "nobody-here@example.org"):
        response = client.post(f"{API}/time-credits/gifts", headers=headers,
                               json={"relative_email": email, "minutes": 30, "idempotency_key": f"to-{email}"})
        answers[email] = (response.status_code, sorted(response.json), response.headers.get("Content-Length"))
        assert response.status_code == 202, response.json
        assert response.json["relative_email"] == email and response.json["minutes"] == 30
    known, unknown = answers.values()
    assert known[0] == unknown[0] and known[1] == unknown[1]
    # Both gifts left the giver's account (the one without an account waits in escrow for one),
    # and no account was made for the address.
    assert time_credits.time_balance(relative) == 30 and time_credits.time_balance(city.citizen) == 30
    assert _account("nobody-here@example.org") is None and ledger.verify().ok
    # Refusals are the same for both too: more minutes than held is 409 whoever the email is.
    for email in (relative.email, "nobody-here@example.org"):
        short = client.post(f"{API}/time-credits/gifts", headers=headers,
                            json={"relative_email": email, "minutes": 31, "idempotency_key": f"short-{email}"})
        assert short.status_code == 409 and short.json["error"] == "insufficient_balance"
        assert short.json["field"] == "minutes"
    assert db.session.execute(select(func.count()).select_from(Transfer)
                              .where(Transfer.kind == "give-time")).scalar_one() == 4  # two per gift
