"""Issuing one voucher to an email no account has: the official corrects it or invites the person
(issue #19: "a mistyped holder email silently creates an account and issues a voucher to it")."""
import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.extensions import db
from app.notifications.worker import drain
from tests.conftest import login, post_form
from vouchers import invitations
from vouchers.models import Voucher

LINK = re.compile(r"http://[^/\s]+/account/reset/([A-Za-z0-9_-]+)")
TYPO = "citizen2@villanova.exmaple"


@pytest.fixture
def official(app, city):
    client = app.test_client()
    login(client, city.official.email)
    return client


def _account(email):
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def _vouchers() -> int:
    return db.session.execute(select(func.count()).select_from(Voucher)).scalar_one()


def _issue(client, city, email, **extra):
    return post_form(client, f"/vouchers/programmes/{city.programme.slug}",
                     {"holder_email": email, "amount": "50.00", **extra}, headers={"Accept-Language": "it"})


def test_the_operation_refuses_an_email_no_account_has_unless_invited(app, city):
    with pytest.raises(invitations.NoAccount) as refused:
        invitations.issue_to_email(city.programme, TYPO, 5000, invite=False, actor=city.official)
    assert refused.value.field == "holder_email" and refused.value.code == "no_account"
    assert _account(TYPO) is None and _vouchers() == 0
    voucher, invited = invitations.issue_to_email(city.programme, city.citizen.email, 5000, invite=False,
                                                  actor=city.official)
    assert not invited and voucher.holder_id == city.citizen.id


def test_a_refused_voucher_invites_nobody(app, city):
    with pytest.raises(invitations.Invalid):
        invitations.issue_to_email(city.programme, "new@example.org", 10**9, invite=True, actor=city.official)
    assert _account("new@example.org") is None


def test_the_official_sees_no_account_beside_the_field_and_may_correct_it(app, city, official):
    page = official.get(f"/vouchers/programmes/{city.programme.slug}").get_data(as_text=True)
    assert 'name="invite"' not in page  # offered only once no account has the email
    refused = _issue(official, city, TYPO)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert re.search(r'id="holder_email-error">[^<]*', text) and 'name="invite"' in text
    assert f'value="{TYPO}"' in text
    assert _account(TYPO) is None and _vouchers() == 0
    corrected = _issue(official, city, city.citizen.email)
    assert corrected.status_code == 302 and _vouchers() == 1


def test_an_invited_person_gets_an_account_a_voucher_and_a_link_in_the_officials_language(app, city, official,
                                                                                           smtp):
    done = _issue(official, city, "nuova@example.org", invite="y")
    assert done.status_code == 302
    person = _account("nuova@example.org")
    assert person.password_hash is None
    assert db.session.execute(select(Voucher).where(Voucher.holder_id == person.id)).scalar_one().value_cents == 5000
    drain()
    invitations_sent = [m for to, m in smtp.messages if to == ["nuova@example.org"] and LINK.search(
        m.get_body(("plain",)).get_content())]
    assert len(invitations_sent) == 1
    [message] = invitations_sent
    assert message["Subject"] == "Ti è stato dato un buono: scegli la tua password"
    [nonce] = set(LINK.findall(message.get_body(("plain",)).get_content()))
    client = app.test_client()
    chosen = post_form(client, f"/account/reset/{nonce}", {"password": "una-password-nuova",
                                                            "confirm": "una-password-nuova"})
    assert chosen.status_code == 302
    login(app.test_client(), "nuova@example.org", "una-password-nuova")
