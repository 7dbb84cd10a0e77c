"""Faults the city's server will meet: a read-only or full disk under SQLite, and
the PDF engine failing. Each gives a clear page (or JSON error), never a stack
trace, and leaves nothing half-written."""
import pytest
from sqlalchemy import event, func, select

from app import create_app
from app.accounts.models import User
from app.audit.models import AuditEntry
from app.extensions import db
from tests.conftest import app_config, post_form

REGISTRATION = {"name": "Nova", "email": "nova@example.org", "password": "a-long-password-1",
                "confirm": "a-long-password-1"}


@pytest.fixture
def sqlite_file(tmp_path):
    """A migrated-from-models SQLite database on disk, with nothing in it."""
    path = tmp_path / "city.sqlite"
    app = create_app(app_config(f"sqlite:///{path}", tmp_path / "instance"))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return path


def _counts(app):
    with app.app_context():
        counts = (db.session.scalar(select(func.count()).select_from(User)),
                  db.session.scalar(select(func.count()).select_from(AuditEntry)))
        db.engine.dispose()
        return counts


def _assert_clear_503(response, language="en"):
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page[:300]
    assert "Traceback" not in page and "OperationalError" not in page
    expected = {"en": "nothing was changed", "es": "no se ha cambiado nada"}[language]
    assert expected in page, page[:2000]
    assert f'lang="{language}"' in page


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_read_only_database_gives_a_clear_page_and_saves_nothing(sqlite_file, tmp_path, language):
    # What SQLite answers when the instance folder (or the file) cannot be written.
    url = f"sqlite:///file:{sqlite_file}?mode=ro&uri=true"
    app = create_app(app_config(url, tmp_path / "instance"))
    before = _counts(app)
    client = app.test_client()
    assert client.get("/").status_code == 200  # reading still works
    response = post_form(client, "/account/register", REGISTRATION, headers={"Accept-Language": language})
    _assert_clear_503(response, language)
    assert _counts(app) == before
    assert client.get("/healthz").status_code == 200


def test_a_full_disk_gives_a_clear_page_and_saves_nothing(sqlite_file, tmp_path):
    app = create_app(app_config(f"sqlite:///{sqlite_file}", tmp_path / "instance"))
    with app.app_context():
        pages = db.session.execute(db.text("PRAGMA page_count")).scalar()

        # The disk has no room for a single new page: SQLite answers SQLITE_FULL.
        @event.listens_for(db.engine, "connect")
        def no_room(dbapi_connection, _record):
            dbapi_connection.execute(f"PRAGMA max_page_count={pages}")
        db.engine.dispose()
    client = app.test_client()
    for n in range(300):  # a row or two may still fit in a page's free space
        before = _counts(app)
        response = post_form(client, "/account/register",
                             dict(REGISTRATION, name="N" * 100, email=f"n{n}@example.org"))
        if response.status_code != 302:
            break
    _assert_clear_503(response)
    assert _counts(app) == before  # neither the account nor its audit entry


def test_the_api_answers_json_when_the_database_is_read_only(sqlite_file, tmp_path):
    url = f"sqlite:///file:{sqlite_file}?mode=ro&uri=true"
    app = create_app(app_config(url, tmp_path / "instance"))
    # A bearer token is looked up read-only; its "last used" stamp is a write.
    response = app.test_client().post("/api/v1/vouchers/redemptions", json={"code": "x"},
                                      headers={"Authorization": "Bearer nope"})
    assert response.status_code in (401, 503)
    assert response.is_json and response.json["error"] in ("unauthorized", "unavailable")


def test_a_failing_pdf_engine_gives_an_error_page_and_loses_nothing(app, client_as, monkeypatch):
    """The engine is made to fail the way it does on a full /tmp (OSError while writing)."""
    from datetime import timedelta

    import weasyprint

    from app.i18n import city_today
    from app.organisations import operations as organisations
    official = client_as("official")
    coop = organisations.create_organisation("la-tela", "La Tela", "social_coop_a")
    care = organisations.save_category("elder-care", {"en": "Elder care"})
    accreditation = organisations.accredit(coop, care, city_today() + timedelta(days=30), met_all=True)
    db.session.commit()
    url = f"/organisations/accreditations/{accreditation.id}/certificate.pdf"
    assert official.get(url).status_code == 200, url
    before = _counts(app)

    def broken(self, *args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(weasyprint.HTML, "write_pdf", broken)
    for language, expected in (("en", "Nothing was lost"), ("ca", "No s'ha perdut res")):
        response = official.get(url, headers={"Accept-Language": language})
        page = response.get_data(as_text=True)
        assert response.status_code == 503 and expected in page, page[:1500]
        assert "Traceback" not in page and response.content_type.startswith("text/html")
    monkeypatch.undo()
    assert _counts(app) == before
    assert official.get(url).status_code == 200


def test_numbers_too_large_for_the_database_are_bad_input(app, client, api_client, make_user):
    """Found by schemathesis: a 25-digit id in a URL or a JSON body used to raise OverflowError."""
    from app.accounts.models import Role
    client_, headers = api_client(make_user(Role.CITIZEN))
    assert client.get("/api/v1/pacts/6224349611129533880074240").status_code == 404
    assert client.get("/pacts/6224349611129533880074240").status_code == 404
    response = client_.post("/api/v1/pacts/proposals", headers=headers, json={
        "commons": [1], "standard_form": -2176552510991395717120, "title": "x"})
    assert response.status_code in (404, 422) and response.json["error"], response.json


def test_a_connection_cut_with_its_transaction_open_still_gets_a_clear_answer(database_url, tmp_path):
    """A database restart cuts a connection in the middle of a request: its rollback then fails too
    (seen under load in test_database_restart). The answer is still the clear 503, never a 500."""
    from sqlalchemy.exc import OperationalError
    app = create_app(app_config(database_url, tmp_path / "instance"))

    @app.get("/api/v1/cut")
    def cut():
        db.session.execute(select(func.count()).select_from(User))  # a transaction open on its connection
        db.session.connection().connection.dbapi_connection.close()  # the server goes away under it
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    with app.test_client() as client:
        response = client.get("/api/v1/cut")
        assert response.status_code == 503 and response.json["error"] == "unavailable", response.get_data()[:300]
        assert client.get("/healthz").status_code == 200  # the next request gets a live connection
    with app.app_context():
        db.engine.dispose()


def test_a_held_connection_the_driver_saw_close_still_gets_a_clear_answer(database_url, tmp_path):
    """The API's reads and the redemption run on the thread's held autocommit connection
    (app.database.autocommit_connection). A restart can leave it closed in the driver's eyes
    before SQLAlchemy notices (seen once under load in test_database_restart, as a 500): the next
    request must open a new one, or at worst answer the clear 503, never a 500."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the held autocommit connection is PostgreSQL's")
    from app import database
    app = create_app(app_config(database_url, tmp_path / "instance"))
    headers = {"Authorization": "Bearer not-a-token"}

    @app.get("/api/v1/driver-error")
    def driver_error():  # the driver's own error, as SQLAlchemy may let one through
        import psycopg
        raise psycopg.OperationalError("the connection is closed")

    with app.test_client() as client:
        response = client.get("/api/v1/driver-error")
        assert response.status_code == 503 and response.json["error"] == "unavailable", response.get_data()[:300]
        assert client.post("/api/v1/vouchers/redemptions", headers=headers, json={}).status_code == 401
        held = database._held.value  # the test client serves in this thread: the same held connection
        held.conn.connection.dbapi_connection.pgconn.finish()  # as a cut connection leaves it: BAD
        response = client.post("/api/v1/vouchers/redemptions", headers=headers, json={})
        assert response.status_code == 401, response.get_data()[:300]  # a new connection answered
        assert database._held.value is not held
        # And straight through run_raw, whose cursor the closed connection refuses: SQLAlchemy's error.
        with app.app_context():
            from sqlalchemy.exc import OperationalError
            conn = database.autocommit_connection()
            conn.connection.dbapi_connection.pgconn.finish()
            with pytest.raises(OperationalError):
                database.run_raw(conn, "SELECT 1")
            assert conn.invalidated
    with app.app_context():
        db.engine.dispose()


def test_a_connection_cut_after_the_answer_was_made_keeps_the_answer(database_url, tmp_path):
    """The server goes away between a request's work and the end of its session: the session's
    closing rollback fails (seen under load in test_database_restart, as a 500 in place of the
    answer already made). The answer stands and the next request gets a live connection."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a server to cut the connection")
    import psycopg
    app = create_app(app_config(database_url, tmp_path / "instance"))
    plain_url = database_url.replace("postgresql+psycopg://", "postgresql://")

    @app.get("/api/v1/answered-then-cut")
    def answered_then_cut():
        count = db.session.scalar(select(func.count()).select_from(User))  # a transaction left open
        pid = db.session.execute(select(func.pg_backend_pid())).scalar()
        with psycopg.connect(plain_url, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return {"users": count}

    with app.test_client() as client:
        response = client.get("/api/v1/answered-then-cut")
        assert response.status_code == 200 and "users" in response.json, response.get_data()[:300]
        assert client.get("/healthz").status_code == 200
    with app.app_context():
        db.engine.dispose()
