"""Password reset: links carry a random nonce kept only as a hash, good once and for 24 hours;
anyone can ask for one by email (through the outbox, in the person's language), with the same
answer and the same work whether the address has an account or not, throttled."""
import hashlib
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.accounts import resets
from app.accounts.models import PasswordReset, Role, User
from app.database import transaction, utcnow
from app.extensions import db
from app.notifications.models import MailMessage, Notification
from app.notifications.worker import drain

from ..conftest import csrf_token, login, post_form, statements_run

LINK = re.compile(r"http://[^/\s]+/account/reset/([A-Za-z0-9_-]+)")


def _links(message) -> list[str]:
    return LINK.findall(message.get_body(("plain",)).get_content())


def test_a_link_is_a_random_nonce_kept_only_as_its_hash(app, make_user):
    user = make_user()
    first, second = resets.issue_reset(user), resets.issue_reset(user)
    assert first != second and len(first) >= 40
    stored = db.session.execute(select(PasswordReset.nonce_hash)).scalars().all()
    assert hashlib.sha256(first.encode()).hexdigest() in stored
    assert first not in stored
    # Nothing of the password hash is in the link (the old links carried its last 16 characters).
    assert user.password_hash[-16:] not in first and user.password_hash[-8:] not in first


def test_a_link_works_once_and_expires(app, client, make_user):
    user = make_user()
    nonce = resets.issue_reset(user)
    assert client.get(f"/account/reset/{nonce}").status_code == 200
    short = post_form(client, f"/account/reset/{nonce}", {"password": "short", "confirm": "short"})
    assert short.status_code == 422  # a password refused leaves the link usable
    done = post_form(client, f"/account/reset/{nonce}", {"password": "new-password-1", "confirm": "new-password-1"})
    assert done.status_code == 302
    assert client.get("/account/").status_code == 200  # signed in by the link
    assert client.get(f"/account/reset/{nonce}").status_code == 410
    again = post_form(client, f"/account/reset/{nonce}", {"password": "new-password-2", "confirm": "new-password-2"})
    assert again.status_code == 410
    old = resets.issue_reset(user)
    with transaction():
        db.session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get(f"/account/reset/{old}").status_code == 410


def test_a_new_password_spends_every_other_link(app, client, make_user):
    user = make_user()
    first, second = resets.issue_reset(user), resets.issue_reset(user)
    post_form(client, f"/account/reset/{first}", {"password": "new-password-1", "confirm": "new-password-1"})
    assert client.get(f"/account/reset/{second}").status_code == 410


def test_two_tabs_sending_one_link_at_once_set_one_password(app, make_user):
    user = make_user()
    nonce = resets.issue_reset(user)
    db.session.commit()
    barrier, outcomes = threading.Barrier(4), []

    def send(n):
        with app.app_context():
            barrier.wait()
            try:
                resets.reset_password(nonce, f"parallel-password-{n}")
                outcomes.append(n)
            except Exception as error:  # noqa: BLE001
                outcomes.append(getattr(error, "status", error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if isinstance(o, int) and o < 100]
    assert len(winners) == 1 and sorted(o for o in outcomes if o not in winners) == [410] * 3, outcomes
    assert db.session.execute(select(func.count()).select_from(PasswordReset)
                              .where(PasswordReset.used_at.is_not(None))).scalar_one() == 1


def test_the_cli_prints_a_working_link(app, make_user):
    user = make_user(email="helpdesk-case@example.org")
    result = app.test_cli_runner().invoke(args=["user", "reset-link", user.email])
    assert result.exit_code == 0
    nonce = result.output.strip().rsplit("/", 1)[1]
    assert resets.user_for_reset(nonce).id == user.id


def _ask(client, email, address="192.0.2.30", language="en"):
    return post_form(client, "/account/forgot", {"email": email},
                     environ_base={"REMOTE_ADDR": address}, headers={"Accept-Language": language})


def test_a_person_resets_a_forgotten_password_by_email_in_their_language(app, client, smtp, make_user):
    user = make_user(Role.CITIZEN, email="nuria@example.org", name="Núria", locale="es")
    assert 'href="/account/forgot"' in client.get("/account/login").get_data(as_text=True)
    answer = _ask(client, "Nuria@Example.org ")
    assert answer.status_code == 200 and "Check your email" in answer.get_data(as_text=True)
    drain()
    [(recipients, message)] = smtp.messages
    assert recipients == ["nuria@example.org"]
    assert message["Subject"] == "Elige una nueva contraseña"
    assert "List-Unsubscribe" not in message  # nobody unsubscribes from their own reset link
    [nonce] = set(_links(message))
    # Nothing of the link is stored: not in the outbox, not in the message row.
    assert db.session.execute(select(func.count()).select_from(MailMessage)).scalar_one() == 1
    assert db.session.execute(select(func.count()).select_from(Notification)).scalar_one() == 0
    assert nonce not in str(db.session.execute(select(MailMessage.subject, MailMessage.last_error)).all())
    done = post_form(client, f"/account/reset/{nonce}", {"password": "una-nueva-clave", "confirm": "una-nueva-clave"})
    assert done.status_code == 302
    login(app.test_client(), user.email, "una-nueva-clave")


def test_an_account_without_a_language_hears_in_the_language_it_asked_in(app, client, smtp, make_user):
    make_user(Role.CITIZEN, email="senza@example.org")
    _ask(client, "senza@example.org", language="it")
    drain()
    [(_to, message)] = smtp.messages
    assert message["Subject"] == "Scegli una nuova password"


def _page_without(response, *words) -> str:
    page = re.sub(r'(name="csrf_token" (?:type="hidden" )?value|name="csrf-token" content)="[^"]+"', "",
                  response.get_data(as_text=True))
    for word in words:
        page = page.replace(word, "")
    return page


def test_the_answer_and_the_work_are_the_same_with_or_without_an_account(app, smtp, make_user):
    """No account enumeration: byte for byte the same page, and the same SQL statements (the
    work the request does, hence its time), whether the email has an account or not."""
    make_user(Role.CITIZEN, email="known@example.org")
    db.session.commit()
    pages, statements = {}, {}
    for email in ("known@example.org", "ghost@example.org"):
        client = app.test_client()
        token = csrf_token(client, "/account/forgot")
        with statements_run() as seen:
            response = client.post("/account/forgot", data={"email": email, "csrf_token": token},
                                   environ_base={"REMOTE_ADDR": "192.0.2.31"})
        pages[email] = _page_without(response, email)
        statements[email] = seen
        assert response.status_code == 200
    assert pages["known@example.org"] == pages["ghost@example.org"]
    assert statements["known@example.org"] == statements["ghost@example.org"]
    drain()
    assert [to for to, _m in smtp.messages] == [["known@example.org"]]


def test_requests_are_throttled_per_address_and_per_email(app, smtp, make_user):
    make_user(Role.CITIZEN, email="target@example.org")
    client = app.test_client()
    for _ in range(resets.REQUESTS_PER_EMAIL + 2):
        assert _ask(client, "target@example.org", address="198.51.100.40").status_code == 200
    drain()
    # Beyond three an hour for one address, nothing more is sent (and the answer did not change).
    assert len(smtp.messages) == resets.REQUESTS_PER_EMAIL
    for n in range(resets.REQUESTS_PER_ADDRESS - (resets.REQUESTS_PER_EMAIL + 2)):
        _ask(client, f"other{n}@example.org", address="198.51.100.40")
    refused = _ask(client, "someone@example.org", address="198.51.100.40", language="es")
    assert refused.status_code == 429
    assert "Demasiadas solicitudes" in refused.get_data(as_text=True)
    assert _ask(client, "someone@example.org", address="198.51.100.41").status_code == 200


def test_a_deactivated_account_gets_no_link(app, client, smtp, make_user):
    user = make_user(Role.CITIZEN, email="closed@example.org")
    with transaction():
        db.session.get(User, user.id).active = False
    _ask(client, "closed@example.org")
    drain()
    assert smtp.messages == []
    nonce = resets.issue_reset(user)
    assert client.get(f"/account/reset/{nonce}").status_code == 410


@pytest.mark.parametrize("path", ["/notifications/preferences"])
def test_the_reset_email_is_not_a_preference(client_as, path):
    client = client_as(Role.CITIZEN)
    page = client.get(path).get_data(as_text=True)
    assert "account.password_reset" not in page and "Choose a new password" not in page

