"""The migrations are the schema: `flask db upgrade` on an empty database must
give exactly the models' tables, columns, types, indexes and constraints."""
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db

from ..conftest import app_config, postgresql_test_url


@pytest.fixture
def empty_database(backend, tmp_path):
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}", None
        return
    base = postgresql_test_url()
    schema = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}", schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_upgrade_gives_exactly_the_models_schema(empty_database, tmp_path):
    url, _schema = empty_database
    migrated = create_app(app_config(url, tmp_path / "instance"))
    with migrated.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        tables = set(db.inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"
    assert {t.name for t in db.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_one_head_only():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from app.config import ROOT
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"migrations have several heads, merge them: {heads}"
