"""Fixtures for every test: an app with a clean database per test, on SQLite
always and on PostgreSQL too when TEST_DATABASE_URL is set (each test runs
once per database: see the [sqlite] / [postgresql] in its id)."""
import contextvars
import copy
import functools
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, make_url, text

from app import create_app
from app.accounts import operations as accounts
from app.accounts.models import Role
from app.config import normalise_database_url
from app.extensions import db
from app.organisations import operations as organisations

PASSWORD = "correct-horse-battery"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])



def _xmlschema_beside_zope_interface() -> None:
    """Only the test environment has both: flattentool (the OCDS tools' dependency) imports BTrees,
    whose zope.interface declarations leave a `__provides__` name in dir() of classes that getattr
    cannot read; xmlschema (sepaxml's XSD validation of the SEPA files) reads every name of its schema
    classes and stops. Names getattr cannot read are not cached properties: skip them."""
    from functools import cached_property

    from xmlschema.validators import xsdbase

    def _cached_properties(cls):
        for name in dir(cls):
            if isinstance(getattr(cls, name, None), cached_property):
                yield name

    xsdbase.XsdValidator._cached_properties = classmethod(_cached_properties)


_xmlschema_beside_zope_interface()

@functools.cache
def postgresql_test_url() -> str:
    """TEST_DATABASE_URL, or under pytest-xdist one database per worker beside it (`test_gw0`, ...),
    created on first use (once a process): workers never truncate each other's tables."""
    base = normalise_database_url(os.environ["TEST_DATABASE_URL"])
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return base
    url = make_url(base)
    name = f"{url.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def app_config(database_url: str, instance: Path) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
        "AUDIT_KEY": "test-audit-key-kept-outside-the-database-0123456789",
        # The books' signing key (app/books/notes.py), made there on first use.
        "PROCOMUN_BOOKS_KEY_FILE": str(instance / "books_key.pem"),
        # Cheap hashing keeps the suite fast; production settings are tested on their own.
        "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1,
        # No map tiles: tests never reach outside the machine (tests/pacts/test_commons_map.py sets some).
        "PROCOMUN_MAP_TILES": "", "PROCOMUN_MAP_ATTRIBUTION": "",
        # Tests build their data faster than anyone writes: the hourly posting limits are off here
        # and tested on their own (tests/moderation/test_spam.py).
        "PROCOMUN_MODERATION_COMMENTS_PER_HOUR": 0, "PROCOMUN_MODERATION_PROPOSALS_PER_HOUR": 0,
        "PROCOMUN_MODERATION_REPORTS_PER_HOUR": 0,
    }


# One app per database for a whole test process: building one registers some 280 routes and the
# API's description (a quarter of a second, a tenth of the suite's time). Each test gets it back as
# new: the configuration it was built with (a test's changes undone), its own instance folder, no
# outbox progress, its database emptied and its engine's connections closed.
_APPS: dict = {}


def _shared_app(database_url: str, instance: Path):
    config = app_config(database_url, instance)
    kept = _APPS.get(database_url)
    if kept is None:
        app = create_app(config)
        app.test_client_class = IsolatedClient
        _APPS[database_url] = kept = (app, copy.deepcopy(dict(app.config)))
    app, built_with = kept
    app.config.clear()
    app.config.update(copy.deepcopy(built_with))
    app.config.update(config)
    app.instance_path = str(instance)
    instance.mkdir(parents=True, exist_ok=True)
    app.extensions.pop("procomun_outbox_claims", None)
    return app


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """One schema per database for the whole run, built from the models."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite'}"
    else:
        url = postgresql_test_url()
    app = _shared_app(url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        if request.param == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        db.create_all()
        db.engine.dispose()
    return url


def _empty_all_tables():
    tables = [t.name for t in db.metadata.sorted_tables]
    if db.engine.dialect.name == "postgresql":
        # TRUNCATE makes new files for every table and index it names (over a second for all of them):
        # name only the tables that hold rows, found in one round trip, then put back to 1 the sequences
        # that rolled-back or deleted rows moved, as RESTART IDENTITY would have.
        filled = db.session.execute(text(" UNION ALL ".join(
            f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables))).scalars().all()
        if filled:
            db.session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in filled) + " RESTART IDENTITY CASCADE"))
        db.session.execute(text(
            "SELECT setval(s.oid::regclass, 1, false) FROM pg_class s "
            "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
            "JOIN pg_sequences q ON q.schemaname = current_schema() AND q.sequencename = s.relname "
            "WHERE s.relkind = 'S' AND s.relnamespace = current_schema()::regnamespace AND q.last_value IS NOT NULL"))
    else:
        # Published releases refuse a DELETE (procurement.models.IMMUTABLE_RELEASES): lift the
        # triggers for the reset, as TRUNCATE does on PostgreSQL, and put them back.
        triggers = db.session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
        for name, _sql in triggers:
            db.session.execute(text(f'DROP TRIGGER "{name}"'))
        for name in reversed(tables):
            db.session.execute(text(f'DELETE FROM "{name}"'))
        for _name, sql in triggers:
            db.session.execute(text(sql))
        db.session.execute(text("DELETE FROM sqlite_sequence")) if db.session.execute(
            text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first() else None
    db.session.commit()


class IsolatedClient(FlaskClient):
    """A test client whose requests run as on a real server: each in its own
    application context (own `g`, own database session), never sharing the
    test's. The test's session commits before and after each request, so the
    request sees what the test wrote and the test then reads fresh rows."""

    def open(self, *args, **kwargs):
        if not has_app_context():  # already inside an isolated request (following a redirect)
            return super().open(*args, **kwargs)
        db.session.commit()
        try:
            return contextvars.Context().run(super().open, *args, **kwargs)
        finally:
            db.session.commit()


@pytest.fixture
def app(database_url, tmp_path):
    app = _shared_app(database_url, tmp_path / "instance")
    with app.app_context():
        _empty_all_tables()
    ctx = app.app_context()
    ctx.push()
    yield app
    db.session.remove()
    ctx.pop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def backend(app) -> str:
    return db.engine.dialect.name


@pytest.fixture
def client(app):
    return app.test_client()


# Factories ------------------------------------------------------------------------------

@pytest.fixture
def make_org(app):
    counter = iter(range(1, 10_000))

    def make(slug=None, kind="social_coop_a", name=None, **fields):
        n = next(counter)
        slug = slug or f"org-{n}"
        return organisations.create_organisation(slug, name or f"Organisation {n}", kind, **fields)
    return make


@pytest.fixture
def make_category(app):
    def make(slug="elder-care", **names):
        try:
            return organisations.category_by_slug(slug)
        except Exception:
            return organisations.save_category(slug, {"en": slug.replace("-", " ").title(), **names})
    return make


@pytest.fixture
def make_user(app):
    counter = iter(range(1, 10_000))

    def make(*roles, email=None, password=PASSWORD, organisations=(), name=None, locale=None):
        n = next(counter)
        return accounts.create_user(email or f"user{n}@example.org", password, name=name or f"User {n}",
                                    roles=roles or (Role.CITIZEN,), organisations=organisations,
                                    locale=locale)
    return make


# Clients --------------------------------------------------------------------------------

@contextmanager
def statements_run(with_parameters: bool = False):
    """The SQL statements run inside the block, in order (SQLAlchemy's cursor event; SQLite's BEGIN
    included, as the app's own connection listener emits it); (statement, parameters) pairs if asked."""
    seen = []

    def listener(conn, cursor, statement, parameters, *rest):
        seen.append((statement, parameters) if with_parameters else statement)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def query_plan(statement: str, parameters, backend: str) -> str:
    """The database's plan of a captured statement, as one line. On PostgreSQL with sequential scans
    priced out: the test tables are tiny, so this asks what it would do at size."""
    from app.database import transaction
    if backend == "sqlite":
        return " ".join(str(row) for row in db.session.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters).all())
    with transaction():
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        return " ".join(db.session.connection().exec_driver_sql("EXPLAIN " + statement, parameters).scalars())


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client, url="/") -> str:
    """The CSRF token of the client's session, read from a page as a browser would."""
    html = client.get(url).get_data(as_text=True)
    return CSRF_META.search(html).group(1)


def at_once(n: int, worker) -> None:
    """Run worker(0) … worker(n - 1) in n threads at once and wait for them all (the workers
    line up on a barrier of their own where the moment of contact matters)."""
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def post_form(client, url, data=None, **kwargs):
    """POST a form with the session's CSRF token, as the browser's form would."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=data, **kwargs)


def login(client, email, password=PASSWORD):
    response = post_form(client, "/account/login", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def client_as(app, make_user, make_org):
    """client_as("official") → a test client signed in as a new user with that role
    (org members belong to a fresh social co-op, available as client.user.organisations)."""
    def make(*roles, organisations=None):
        roles = roles or (Role.CITIZEN,)
        if organisations is None:
            organisations = [make_org()] if Role.ORG_MEMBER in roles else []
        user = make_user(*roles, organisations=organisations)
        c = app.test_client()
        login(c, user.email)
        c.user = user
        return c
    return make


@pytest.fixture
def api_client(app, make_user):
    """api_client(user) → (client, headers) with a fresh bearer token for that user."""
    def make(user):
        token, _row = accounts.issue_token(user, "test")
        return app.test_client(), {"Authorization": f"Bearer {token}"}
    return make


# Browser fixtures (live_server, browser, page, screenshot) for every test package.
from .browser_fixtures import browser, live_server, page, screenshot  # noqa: E402,F401


@pytest.fixture
def smtp(app):
    """A real SMTP server (aiosmtpd on loopback) the app sends its mail to; `drain()` from
    app.notifications.worker then delivers everything due."""
    from .smtp_sink import SmtpSink
    sink = SmtpSink().start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port, MAIL_TIMEOUT=5)
    yield sink
    sink.stop()
