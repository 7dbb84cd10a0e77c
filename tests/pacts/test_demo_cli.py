"""The demo loads pacts in several states with reports, twice without
duplicates; the CLI sweep and late list work."""
from sqlalchemy import func, select

from app.extensions import db
from pacts.models import Pact, Report


def test_demo_is_idempotent_and_varied(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    states = set(db.session.execute(select(Pact.state)).scalars())
    assert {"submitted", "consultation", "co_design", "active", "suspended", "completed", "rejected"} <= states
    pacts = db.session.execute(select(func.count(Pact.id))).scalar_one()
    reports = db.session.execute(select(func.count(Report.id))).scalar_one()
    assert reports >= 3
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert db.session.execute(select(func.count(Pact.id))).scalar_one() == pacts
    result = runner.invoke(args=["pacts", "late"])
    assert result.exit_code == 0
    assert "answer overdue" in result.output and "report overdue" in result.output
    result = runner.invoke(args=["pacts", "sweep"])
    assert result.exit_code == 0 and "Started 0 pact(s)" in result.output
