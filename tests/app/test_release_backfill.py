"""Upgrading a database from before releases were kept gives each published procurement process
its first release, from its current state, once the schema reaches the newest revision (the
backfill needs the application's models: migrations/env.py runs it then)."""
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db

from ..conftest import app_config
from .test_migrations import empty_database  # noqa: F401  (the fixture)

BEFORE_RELEASES = "0010_batch_issue"


def test_an_upgrade_publishes_a_release_for_each_process_published_before(empty_database, tmp_path):  # noqa: F811
    url, _schema = empty_database
    app = create_app(app_config(url, tmp_path / "instance"))
    with app.app_context():
        upgrade(revision=BEFORE_RELEASES)
        db.session.execute(text(
            "INSERT INTO organisations (id, slug, name, kind, description, neighbourhood, address, email, website, "
            "created_at) VALUES (1, 'social-services', 'Social Services', 'municipal_department', '', '', '', '', '', "
            "CURRENT_TIMESTAMP)"))
        for n, published in ((1, "CURRENT_TIMESTAMP"), (2, "NULL")):
            db.session.execute(text(
                "INSERT INTO procurement_processes (id, reference, title, description, department_id, budget_cents, "
                "procedure, phase, bid_deadline, cancel_reason, created_at, published_at, updated_at) VALUES "
                f"({n}, 'PRC-2026-000{n}', 'Home care {n}', '', 1, 100000, 'open', "
                f"'{'tender' if n == 1 else 'planning'}', '2030-01-31', '', CURRENT_TIMESTAMP, {published}, "
                "CURRENT_TIMESTAMP)"))
        db.session.commit()
        upgrade()
        rows = db.session.execute(text("SELECT process_id, number, release_id, tags FROM procurement_releases")).all()
        records = db.session.execute(text("SELECT ocid FROM procurement_records")).scalars().all()
        upgrade()  # again: nothing more
        again = db.session.execute(text("SELECT count(*) FROM procurement_releases")).scalar_one()
        db.engine.dispose()
    assert [(r.process_id, r.number, r.release_id) for r in rows] == [
        (1, 1, "ocds-procomun-villanova-PRC-2026-0001-1")]
    assert records == ["ocds-procomun-villanova-PRC-2026-0001"] and again == 1
