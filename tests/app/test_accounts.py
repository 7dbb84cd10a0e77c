from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts import operations as ops
from app.accounts import resets
from app.accounts.models import ApiToken, Role, User
from app.database import utcnow
from app.errors import Invalid
from app.extensions import db

from ..conftest import PASSWORD, login, post_form


def test_a_citizen_registers_through_the_form_with_csrf(client):
    response = post_form(client, "/account/register", {
        "name": "Ada Lovelace", "email": "Ada@Example.org", "password": "analytical-engine",
        "confirm": "analytical-engine"})
    assert response.status_code == 302
    user = ops.find_user("ada@example.org")
    assert user.roles == {Role.CITIZEN}
    assert user.password_hash.startswith("$argon2id$")
    assert "analytical-engine" not in user.password_hash
    assert "Ada Lovelace" in client.get("/account/").get_data(as_text=True)


def test_an_account_keeps_the_language_it_was_made_in(client):
    """Signed up through the Spanish interface (the browser's language), the account is Spanish:
    its emails are written in Spanish, not in the city's default (issue #19)."""
    response = post_form(client, "/account/register", {
        "name": "Lucía", "email": "lucia@example.org", "password": "analytical-engine",
        "confirm": "analytical-engine"}, headers={"Accept-Language": "es-ES,es;q=0.9"})
    assert response.status_code == 302
    assert ops.find_user("lucia@example.org").locale == "es"


def test_a_form_without_the_csrf_token_is_refused_and_saves_nothing(client):
    response = client.post("/account/register", data={
        "name": "Eve", "email": "eve@example.org", "password": "x" * 12, "confirm": "x" * 12})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert ops.find_user("eve@example.org") is None


def test_bad_registration_keeps_the_input_and_explains_next_to_the_field(client, make_user):
    make_user(email="taken@example.org")
    response = post_form(client, "/account/register", {
        "name": "Second", "email": "taken@example.org", "password": "long-enough-pw", "confirm": "long-enough-pw"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="email-error"' in page and "already exists" in page
    assert 'value="Second"' in page
    response = post_form(client, "/account/register", {
        "name": "Third", "email": "third@example.org", "password": "short", "confirm": "short"})
    assert "at least 10 characters" in response.get_data(as_text=True)
    assert ops.find_user("third@example.org") is None


def test_errors_are_translated_in_the_request_language(client):
    response = post_form(client, "/account/register", {
        "name": "Tercera", "email": "tercera@example.org", "password": "corta", "confirm": "corta"},
        headers={"Accept-Language": "es"})
    page = response.get_data(as_text=True)
    assert 'lang="es"' in page
    assert "al menos 10 caracteres" in page


def test_login_starts_a_fresh_session_and_logout_ends_it(client, make_user):
    user = make_user(Role.OFFICIAL)
    client.get("/")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, user.email)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == user.get_id()
    assert client.get("/audit/").status_code == 200
    post_form(client, "/account/logout")
    assert client.get("/audit/").status_code == 302


def test_login_is_throttled_and_never_reveals_whether_an_email_exists(app, client, make_user):
    user = make_user(email="victim@example.org")
    unknown = post_form(client, "/account/login", {"email": "nobody@example.org", "password": "wrong-password"})
    for _ in range(app.config["PROCOMUN_LOGIN_MAX_FAILURES"]):
        wrong = post_form(client, "/account/login", {"email": user.email, "password": "wrong-password"})
    message = "Wrong email or password, or too many attempts."
    assert message in unknown.get_data(as_text=True) and message in wrong.get_data(as_text=True)
    locked = post_form(client, "/account/login", {"email": user.email, "password": PASSWORD})
    assert locked.status_code == 200 and message in locked.get_data(as_text=True)
    db.session.refresh(user)
    assert user.locked_until > utcnow()
    # Once the lock has passed, the right password works again.
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    login(client, user.email)


def test_changing_the_password_signs_out_other_devices(app, make_user):
    user = make_user()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user.email)
    login(phone, user.email)
    response = post_form(laptop, "/account/password", {
        "current_password": PASSWORD, "password": "a-brand-new-one", "confirm": "a-brand-new-one"})
    assert response.status_code == 302
    assert laptop.get("/account/").status_code == 200
    assert phone.get("/account/").status_code == 302


def test_a_reset_link_works_once(app, client, make_user):
    user = make_user()
    token = resets.issue_reset(user)
    assert client.get(f"/account/reset/{token}").status_code == 200
    response = post_form(client, f"/account/reset/{token}",
                         {"password": "reset-password-1", "confirm": "reset-password-1"})
    assert response.status_code == 302
    login(client, user.email, "reset-password-1")
    assert client.get(f"/account/reset/{token}").status_code == 410
    assert client.get("/account/reset/forged-token").status_code == 410


def test_tokens_are_stored_hashed_and_can_be_revoked(client, make_user, api_client):
    user = make_user(Role.ORG_MEMBER)
    token, row = ops.issue_token(user, "till")
    assert token not in {row.token_hash, row.prefix} and row.prefix == token[:10]
    api, _ = api_client(user)
    headers = {"Authorization": f"Bearer {token}"}
    me = api.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.json["email"] == user.email
    ops.revoke_token(db.session.get(ApiToken, row.id), actor=user)
    assert api.get("/api/v1/me", headers=headers).status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(client_as, make_user):
    other = make_user()
    _token, row = ops.issue_token(other, "theirs")
    client = client_as(Role.CITIZEN)
    response = post_form(client, f"/account/tokens/{row.id}/revoke")
    assert response.status_code == 404
    assert db.session.get(ApiToken, row.id).revoked_at is None


def test_the_profile_creates_a_token_shown_once(client_as):
    client = client_as(Role.ORG_MEMBER)
    page = post_form(client, "/account/tokens", {"name": "front desk"}).get_data(as_text=True)
    assert "pc_" in page and "shown only once" in page
    stored = db.session.execute(select(ApiToken).where(ApiToken.user_id == client.user.id)).scalar_one()
    assert stored.name == "front desk"


def test_an_admin_sets_roles_and_memberships(client_as, make_user, make_org):
    admin = client_as(Role.ADMIN)
    user = make_user()
    coop = make_org("coop-roles")
    response = post_form(admin, f"/account/admin/users/{user.id}", {
        "roles": ["citizen", "org_member"], "organisations": [str(coop.id)], "active": "y"})
    assert response.status_code == 302
    user = db.session.get(User, user.id)
    assert user.roles == {Role.CITIZEN, Role.ORG_MEMBER}
    assert [o.slug for o in user.organisations] == ["coop-roles"]


def test_create_user_validates(app):
    with pytest.raises(Invalid) as error:
        ops.create_user("not-an-email", "long-enough-password")
    assert error.value.field == "email"
    with pytest.raises(Invalid) as error:
        ops.create_user("a@example.org", "short")
    assert error.value.field == "password"
