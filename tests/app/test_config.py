import pytest
from werkzeug.test import Client

from app import create_app
from app.books.notes import generate_key
from app.config import ConfigError, normalise_database_url
from app.headers import CSP, security_headers


@pytest.fixture(autouse=True)
def books_key(tmp_path, monkeypatch):
    """Production needs the books' signing key (PROCOMUN_BOOKS_KEY_FILE): the tests below give one
    through the environment they pass, unless a test is about that very key."""
    path = tmp_path / "books-key.pem"
    generate_key(path)
    real_create_app = create_app

    def with_key(config=None, env=None):
        if env is not None and env.get("PROCOMUN_ENV") == "production":
            env = {"PROCOMUN_BOOKS_KEY_FILE": str(path), **env}
        return real_create_app(config, env=env)
    monkeypatch.setitem(globals(), "create_app", with_key)
    return path


def test_production_refuses_to_start_without_the_books_signing_key(tmp_path, books_key):
    env = {"PROCOMUN_ENV": "production", "SECRET_KEY": "x" * 48, "AUDIT_KEY": "a" * 48,
           "PROCOMUN_BASE_URL": "https://procomun.city.example"}
    for missing in ("", str(tmp_path / "nowhere.pem")):
        with pytest.raises(ConfigError, match="PROCOMUN_BOOKS_KEY_FILE"):
            create_app({"INSTANCE_PATH": str(tmp_path)}, env={**env, "PROCOMUN_BOOKS_KEY_FILE": missing})
    app = create_app({"INSTANCE_PATH": str(tmp_path)}, env=env)
    assert app.config["PROCOMUN_BOOKS_KEY_FILE"] == str(books_key)


def test_production_refuses_to_start_without_a_real_secret_key(tmp_path):
    for key in ("", "change-me", "short-but-not-default"):
        with pytest.raises(ConfigError, match="SECRET_KEY"):
            create_app({"INSTANCE_PATH": str(tmp_path)},
                       env={"PROCOMUN_ENV": "production", "SECRET_KEY": key})


def test_production_sets_secure_cookies_and_hsts(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite'}"},
                     env={"PROCOMUN_ENV": "production", "SECRET_KEY": "x" * 48, "AUDIT_KEY": "a" * 48,
                          "PROCOMUN_BASE_URL": "https://procomun.city.example"})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_production_refuses_to_start_without_an_audit_key_of_its_own(tmp_path):
    secret = "s" * 48
    for key in (None, "", "change-me", "short-but-not-default", secret):
        env = {"PROCOMUN_ENV": "production", "SECRET_KEY": secret}
        if key is not None:
            env["AUDIT_KEY"] = key
        with pytest.raises(ConfigError, match="AUDIT_KEY"):
            create_app({"INSTANCE_PATH": str(tmp_path)}, env=env)
    assert create_app({"INSTANCE_PATH": str(tmp_path)}, env={
        "PROCOMUN_ENV": "production", "SECRET_KEY": secret, "AUDIT_KEY": "k" * 48,
        "PROCOMUN_BASE_URL": "https://procomun.city.example"}).config["AUDIT_KEY"] == "k" * 48


def test_development_generates_an_audit_key_once_beside_the_secret_key(tmp_path):
    first = create_app({"INSTANCE_PATH": str(tmp_path)}, env={})
    second = create_app({"INSTANCE_PATH": str(tmp_path)}, env={})
    assert len(first.config["AUDIT_KEY"]) >= 32 and first.config["AUDIT_KEY"] != first.config["SECRET_KEY"]
    assert first.config["AUDIT_KEY"] == second.config["AUDIT_KEY"]
    assert (tmp_path / "audit_key").stat().st_mode & 0o077 == 0


def test_production_refuses_to_start_without_an_https_public_address(tmp_path):
    for address in (None, "", "http://procomun.city.example", "https://", "procomun.city.example",
                    "https://procomun.city.example/?x=1"):
        env = {"PROCOMUN_ENV": "production", "SECRET_KEY": "x" * 48, "AUDIT_KEY": "a" * 48}
        if address is not None:
            env["PROCOMUN_BASE_URL"] = address
        with pytest.raises(ConfigError, match="PROCOMUN_BASE_URL"):
            create_app({"INSTANCE_PATH": str(tmp_path)}, env=env)
    app = create_app({"INSTANCE_PATH": str(tmp_path)}, env={
        "PROCOMUN_ENV": "production", "SECRET_KEY": "x" * 48, "AUDIT_KEY": "a" * 48,
        "PROCOMUN_BASE_URL": "https://city.example/procomun/"})
    assert app.config["PROCOMUN_BASE_URL"] == "https://city.example/procomun"


def test_the_open_data_licence_is_a_setting(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path)}, env={"PROCOMUN_OPEN_DATA_LICENSE": "CC0-1.0"})
    assert app.config["PROCOMUN_OPEN_DATA_LICENSE"] == "CC0-1.0"
    assert create_app({"INSTANCE_PATH": str(tmp_path)}, env={}).config["PROCOMUN_OPEN_DATA_LICENSE"] == "CC-BY-4.0"
    with pytest.raises(ConfigError, match="PROCOMUN_OPEN_DATA_LICENSE"):
        create_app({"INSTANCE_PATH": str(tmp_path)}, env={"PROCOMUN_OPEN_DATA_LICENSE": "all rights reserved"})


def test_development_generates_a_secret_key_once_and_keeps_it_out_of_the_repo(tmp_path):
    first = create_app({"INSTANCE_PATH": str(tmp_path)}, env={})
    second = create_app({"INSTANCE_PATH": str(tmp_path)}, env={})
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'procomun.sqlite'}"


def test_settings_come_from_the_environment(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path)}, env={
        "DATABASE_URL": "postgres://u:p@db/procomun", "PROCOMUN_CITY_NAME": "Quito",
        "PROCOMUN_DEFAULT_LOCALE": "es", "SECRET_KEY": "k" * 40})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/procomun"
    assert app.config["PROCOMUN_CITY_NAME"] == "Quito"
    assert app.config["BABEL_DEFAULT_LOCALE"] == "es"
    with pytest.raises(ConfigError):
        create_app({"INSTANCE_PATH": str(tmp_path)}, env={"PROCOMUN_DEFAULT_LOCALE": "fr"})


def test_database_urls_are_normalised_to_psycopg3():
    assert normalise_database_url("postgresql://a/b") == "postgresql+psycopg://a/b"
    assert normalise_database_url("postgresql+psycopg://a/b") == "postgresql+psycopg://a/b"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_every_response_carries_security_headers(client):
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_security_headers_reach_every_kind_of_answer_and_keep_a_view_s_own(client):
    for response in (client.get("/no-such-page"), client.get("/api/v1/vouchers/mine"),
                     client.post("/api/v1/vouchers/redemptions", json={})):
        assert response.headers["X-Frame-Options"] == "DENY", response.status
        assert response.headers.getlist("Content-Security-Policy") == [CSP]

    from app.headers import SecurityHeaders

    def view(environ, start_response):  # a response that chose its own framing rule
        start_response("200 OK", [("Content-Type", "text/plain"), ("x-frame-options", "SAMEORIGIN")])
        return [b"ok"]
    answer = Client(SecurityHeaders(view, security_headers(production=False))).get("/")
    assert answer.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_a_signed_in_page_is_never_stored(client, make_user):
    from app.accounts.models import Role
    from app.extensions import db
    from tests.conftest import login
    user = make_user(Role.CITIZEN)
    db.session.commit()
    login(client, user.email)
    assert client.get("/").headers["Cache-Control"] == "private, no-store"
    assert client.get("/static/css/procomun.css").headers.get("Cache-Control") != "private, no-store"


def test_sqlite_runs_with_foreign_keys_and_wal(app, backend):
    from sqlalchemy import text

    from app.extensions import db
    if backend != "sqlite":
        assert db.session.execute(text("SELECT 1")).scalar() == 1
        return
    assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
