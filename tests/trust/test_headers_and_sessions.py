"""Security headers and sessions, beyond tests/app/test_accounts.py and test_config.py:
no rendered page of the demo city has inline script or style (the CSP would block
it), and production cookies really go out Secure and HttpOnly."""
import re

import pytest

from app import create_app
from app.accounts.models import Role
from app.books.notes import generate_key
from app.extensions import db
from tests.conftest import PASSWORD, app_config, login, post_form

from .crawl import PEOPLE, load_demo, walk

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.I)


def test_no_page_of_the_demo_city_has_inline_script_or_style(app):
    load_demo(app)
    problems, pages = [], 0
    for who in PEOPLE:
        for visit in walk(app, who):
            if visit.status >= 500:
                problems.append(f"{who} {visit.url}: {visit.status}")
            if not visit.html:
                continue
            pages += 1
            for name, pattern in (("inline <script>", INLINE_SCRIPT), ('style=""', STYLE_ATTRIBUTE),
                                  ("<style>", STYLE_ELEMENT)):
                if pattern.search(visit.html):
                    problems.append(f"{who} {visit.url}: {name}")
    assert not problems, "\n".join(problems)
    assert pages > 100


@pytest.fixture
def production(database_url, tmp_path):
    config = app_config(database_url, tmp_path / "instance")
    config.pop("SECRET_KEY")
    config.pop("PROCOMUN_BOOKS_KEY_FILE")
    generate_key(tmp_path / "books-key.pem")
    app = create_app(config, env={"PROCOMUN_ENV": "production", "SECRET_KEY": "p" * 48,
                                           "AUDIT_KEY": "a" * 48,
                                           "PROCOMUN_BOOKS_KEY_FILE": str(tmp_path / "books-key.pem"),
                                           "PROCOMUN_BASE_URL": "https://procomun.city.example"})
    return app


def test_production_cookies_are_secure_and_http_only(app, production, make_user):
    user = make_user(Role.CITIZEN)
    db.session.commit()
    client = production.test_client()
    https = "https://localhost"  # Secure cookies come back only over HTTPS, as behind the proxy
    token = re.search(r'name="csrf-token" content="([^"]+)"',
                      client.get("/", base_url=https).get_data(as_text=True)).group(1)
    response = client.post("/account/login", base_url=https, headers={"Referer": https + "/"}, data={
        "email": user.email, "password": PASSWORD, "remember": "y", "csrf_token": token})
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies
    for cookie in cookies:
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert "secure" in flags and "httponly" in flags, cookie
        assert "samesite=lax" in flags, cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_session_cookie_from_before_login_is_not_the_one_after(app, client, make_user):
    """Session fixation: whatever cookie a visitor was handed (or planted) before
    signing in, the signed-in session is a new one, and the old cookie stays anonymous."""
    user = make_user(Role.OFFICIAL)
    db.session.commit()
    client.get("/")
    before = client.get_cookie("session")
    stolen = app.test_client()
    if before is not None:
        stolen.set_cookie("session", before.value)
    login(client, user.email)
    after = client.get_cookie("session")
    assert before is None or after.value != before.value
    assert client.get("/audit/").status_code == 200
    assert stolen.get("/audit/").status_code == 302  # the pre-login cookie never signs anyone in


def test_lockout_answers_the_same_for_known_and_unknown_emails(app, client, make_user):
    """The locked account and a never-registered address get the same page, byte for byte
    apart from the CSRF token and the typed email."""
    user = make_user(email="known@example.org")
    db.session.commit()
    for _ in range(app.config["PROCOMUN_LOGIN_MAX_FAILURES"] + 1):
        known = post_form(client, "/account/login", {"email": user.email, "password": "nope-nope-nope"})
        unknown = post_form(client, "/account/login", {"email": "ghost@example.org", "password": "nope-nope-nope"})
    # Every CSRF token (the meta tag, the header's forms, the form's own hidden field): they carry
    # the second they were made in, and the two answers need not come in the same second.
    def strip(response):
        return re.sub(r'(csrf[^"]*"(?: [a-z]+="[^"]*")*? (?:content|value)="[^"]+"|known@example.org|'
                      r'ghost@example.org)', "", response.get_data(as_text=True))
    assert known.status_code == unknown.status_code
    assert strip(known) == strip(unknown)
