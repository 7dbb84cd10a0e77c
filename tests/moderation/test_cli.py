"""The command line: a moderator account from the shell, and the daily purge of redacted originals."""
from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import Role, User
from app.extensions import db
from app.i18n import city_today
from app.moderation import decisions
from app.moderation.models import RedactedOriginal
from app.moderation.reports import report

from ..app.test_cli import flask
from .conftest import case_of


def test_a_moderator_is_made_from_the_shell(app):
    out = flask(app, "user", "create", "mod@example.org", "--password", "long-password-1", "--role", "moderator").stdout
    assert "moderator" in out
    flask(app, "user", "create", "cit@example.org", "--password", "long-password-1")
    assert "citizen, moderator" in flask(app, "user", "roles", "cit@example.org", "--add", "moderator").stdout
    db.session.expire_all()
    roles = {u.email: u.roles for u in db.session.execute(select(User)).scalars()}
    assert roles == {"mod@example.org": {Role.MODERATOR}, "cit@example.org": {Role.CITIZEN, Role.MODERATOR}}


def test_the_daily_purge_deletes_originals_past_their_retention(app, scene):
    report(scene.reporters[0], "pact_comment", scene.comment.id, "personal_data")
    decisions.redact(case_of("pact_comment", scene.comment.id), {"body": "Count me in for the watering."},
                     actor=scene.moderator)
    assert "Purged 0 redacted originals" in flask(app, "moderation", "purge").stdout
    original = db.session.execute(select(RedactedOriginal)).scalar_one()
    original.keep_until = city_today() - timedelta(days=1)
    db.session.commit()
    assert "Purged 1 redacted original " in flask(app, "moderation", "purge").stdout
    db.session.expire_all()
    assert db.session.execute(select(RedactedOriginal)).first() is None
