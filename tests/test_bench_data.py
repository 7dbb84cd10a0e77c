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


def test_each_copied_process_publishes_its_own_history(app):
    """A copy's releases, record and amendments name the copy (its ocid, ids and document
    addresses), so the bench's procurement.json is a package a harvester would accept."""
    import json

    from procurement.models import Process, Record, Release
    result = app.test_cli_runner().invoke(bench_data_command, ["--scale", "40"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    processes = {p.id: p for p in db.session.query(Process)}
    releases = db.session.query(Release).all()
    copies = [r for r in releases if processes[r.process_id].reference.count("-") == 3]
    assert copies and len(releases) > len(copies)
    assert len({(r.ocid, r.release_id) for r in releases}) == len(releases)
    prefix = app.config["PROCUREMENT_OCID_PREFIX"]
    for release in releases:
        process = processes[release.process_id]
        body = json.loads(release.body)
        assert release.ocid == body["ocid"] == f"{prefix}-{process.reference}"
        assert release.release_id == body["id"] == f"{release.ocid}-{release.number}"
        assert body["tender"]["id"] == process.reference
        for award in body.get("awards", []):
            assert award["documents"][0]["url"].endswith(f"/procurement/{process.id}/award.pdf")
    for record in db.session.query(Record):
        body = json.loads(record.body)
        assert body["ocid"] == record.ocid == body["compiledRelease"]["ocid"]
        assert all(f"/{record.ocid}/" in linked["url"] for linked in body["releases"])


def test_the_chain_bench_links_records_to_the_followed_need_and_the_page_stays_flat(app, client):
    from accountability.chain import chain
    from bench.chain import link_records

    from .conftest import statements_run
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    db.session.remove()

    def statements(need_id):
        with statements_run() as seen:
            assert client.get(f"/councils/needs/{need_id}").status_code == 200
        return len(seen)

    first = link_records(40)
    before = statements(first["need_id"])
    with app.test_request_context():
        redeemed = chain(first["need_id"]).chart["totals"]["redeemed"]
    grown = link_records(400)
    assert grown["payments"] == 200 and grown["redemptions"] == 200 and grown["refunds"] >= 20
    assert statements(grown["need_id"]) == before
    with app.test_request_context():  # 200 sales of 2 € each, a tenth of them half refunded
        assert chain(first["need_id"]).chart["totals"]["redeemed"] - redeemed == 200 * 200 - grown["refunds"] * 100


def test_the_voucher_scale_keeps_the_books_and_the_audit_chain(app):
    """`--holders H --transfers T`: H holders with a voucher each, about T transfers, a month of
    H redemptions to settle, and a ledger and audit trail that verify."""
    runner = app.test_cli_runner()
    result = runner.invoke(bench_data_command, ["--holders", "200", "--transfers", "1000"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert _count("vouchers WHERE code LIKE 'BENCH%'") == 200
    assert _count("voucher_redemptions") >= 1000
    assert _count("organisations WHERE slug LIKE 'bench-coop-%'") == 10
    for command in (["ledger", "verify"], ["audit", "verify"]):
        verify = runner.invoke(args=command)
        assert verify.exit_code == 0, verify.output
