"""The demo year: every phase, reserved and open tenders, awards to co-ops and to a
company, valid open data; loading it twice adds nothing."""
import json
from pathlib import Path

from jsonschema import Draft4Validator

from app import demo as core_demo
from app.extensions import db
from procurement import demo, demo_flags, flags, monitoring
from procurement.models import Award, Phase, Process, RedFlag, Release

RELEASE = json.loads((Path(__file__).resolve().parents[1] / "data" / "ocds-1.1" /
                      "dereferenced-release-schema.json").read_text())


def test_the_demo_year_covers_every_phase_and_loads_once(app, client):
    city = core_demo.load()
    demo.load(city)
    demo.load(core_demo.load())
    assert db.session.query(Process).count() == len(demo.PROCESSES) + len(demo_flags.CASES)
    assert {phase for phase, count in monitoring.processes_by_phase() if count} == set(Phase)
    procedures = {p.procedure for p in db.session.query(Process)}
    assert {"open", "reserved"} <= procedures
    winners = {a.supplier.is_social_economy for a in db.session.query(Award)}
    assert winners == {True, False}
    assert monitoring.commitments_needing_attention()  # overdue and missed commitments to look at
    years = monitoring.social_economy_shares("year")
    assert sum(s.awards for s in years) == db.session.query(Award).count()
    package = client.get("/open-data/procurement.json").get_json()
    validator = Draft4Validator(RELEASE)
    assert all(not list(validator.iter_errors(r)) for r in package["releases"])


def test_the_cli_lists_and_exports(app):
    city = core_demo.load()
    demo.load(city)
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["procurement", "list"])
    assert listing.exit_code == 0 and len(listing.output.splitlines()) == len(demo.PROCESSES) + len(demo_flags.CASES)
    assert "Elder day centre in San Donato" in listing.output
    exported = runner.invoke(args=["procurement", "ocds"])
    assert exported.exit_code == 0, exported.output
    package = json.loads(exported.output)
    assert package["uri"].startswith(app.config["PROCOMUN_BASE_URL"])
    # Every change of the public processes (the one in planning is not), oldest first.
    assert len({r["ocid"] for r in package["releases"]}) == len(demo.PROCESSES) + len(demo_flags.CASES) - 1
    assert len(package["releases"]) == db.session.query(Release).count() > len(demo.PROCESSES)


def test_the_demo_raises_every_flag_and_none_on_the_clean_process(app):
    demo.load(core_demo.load())
    raised = {}
    for title, code in db.session.query(Process.title, RedFlag.code).join(RedFlag.process):
        raised.setdefault(title, set()).add(code)
    assert set().union(*raised.values()) == set(flags.RULES)
    for (title, *_row), codes in demo_flags.CASES:
        assert codes <= raised.get(title, set()), title
    assert demo_flags.CLEAN not in raised
    assert app.test_cli_runner().invoke(args=["procurement", "flags"]).exit_code == 0
    assert db.session.query(RedFlag).count() == sum(map(len, raised.values()))  # the nightly run agrees
