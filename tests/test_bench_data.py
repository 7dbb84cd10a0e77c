"""`flask bench-data --scale N`: the demo city multiplied for the benchmarks, with
consistent keys (every copy reachable through its own parent) and a ledger that
still verifies."""
from sqlalchemy import func, select, text

from app.extensions import db
from bench.data import bench_data_command


def _count(table):
    return db.session.execute(select(func.count()).select_from(text(table))).scalar_one()


def test_bench_data_multiplies_the_demo_city_and_keeps_the_books(app):
    runner = app.test_cli_runner()
    result = runner.invoke(bench_data_command, ["--scale", "40"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert 35 <= _count("pacts") <= 45
    # Each copied version and report belongs to a pact of its own copy, never an orphan.
    orphans = "SELECT count(*) FROM pact_versions v LEFT JOIN pacts p ON p.id = v.pact_id WHERE p.id IS NULL"
    assert db.session.execute(text(orphans)).scalar_one() == 0
    assert _count("pact_versions") > _count("pacts") // 2
    assert _count("councils") >= 2 and _count("procurement_processes") >= 10
    assert _count("voucher_transfers") >= 360  # about 10 a pact
    verify = runner.invoke(args=["ledger", "verify"])
    assert verify.exit_code == 0, verify.output
    # New rows still get fresh keys after the explicit ones the copies used.
    pact_id = db.session.execute(text("SELECT min(id) FROM pacts")).scalar_one()
    db.session.execute(text("INSERT INTO pact_events (pact_id, from_state, to_state, reason, actor_id, at) "
                            "VALUES (:pact, NULL, 'draft', '', NULL, CURRENT_TIMESTAMP)"), {"pact": pact_id})
    db.session.commit()
