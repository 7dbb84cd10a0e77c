"""OCDS releases are published once and kept: each change a process goes through publishes a new
release with its own id, date and tag; what was published stays byte for byte what it was, in
the database (which refuses to change it), at its own address and in the package; the record
merges them all."""
import json
import re
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.errors import Invalid
from app.extensions import db
from app.i18n import city_today
from procurement import contracts, releases, tenders
from procurement.models import Process, Release

from ..conftest import at_once


def _stored(process) -> list[Release]:
    db.session.expire_all()
    return db.session.query(Release).filter_by(process_id=process.id).order_by(Release.number).all()


def _served(client, release) -> bytes:
    """The release's own address: a package holding that release, its bytes as stored."""
    answer = client.get(f"/open-data/procurement/{release.ocid}/{release.number}.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    package = answer.get_data(as_text=True)
    return package[package.index('"releases":[') + len('"releases":['):package.rindex("]")]


def test_each_follow_up_publishes_a_new_release_and_leaves_the_earlier_ones_as_they_were(client, city):
    process = city.process("implementation")
    before = {r.release_id: r.body for r in _stored(process)}
    assert [r.tags for r in _stored(process)] == [["tender"], ["tenderUpdate"], ["award"], ["contract"],
                                                 ["implementation"]]
    contract = process.contract
    changes = [
        lambda: contracts.record_payment(process, 2_500_000, city_today(), actor=city.official, note="First quarter"),
        lambda: contracts.record_metric(process, "People served", 40, unit="people", actor=city.official),
        lambda: contracts.report_milestone(contract.milestones[0], "The service opened on time.", actor=city.official),
        lambda: contracts.assess_commitment(contract.commitments[0], "kept", "Checked against the payroll.",
                                      actor=city.official),
    ]
    served = {}
    for change in changes:
        change()
        stored = _stored(process)
        newest = stored[-1]
        assert newest.release_id not in before and newest.tags == ["implementationUpdate"]
        assert newest.date > stored[-2].date
        # Nothing published before was rewritten: not in the database, not at its address, not in the package.
        package = client.get("/open-data/procurement.json").get_data(as_text=True)
        for release in stored[:-1]:
            assert release.body == before[release.release_id]
            assert _served(client, release) == before[release.release_id].encode().decode()
            assert before[release.release_id] in package
        assert newest.body in package
        served[newest.release_id] = _served(client, newest)
        before[newest.release_id] = newest.body
    assert [len(json.loads(body)["contracts"][0]["implementation"]["transactions"]) for body in served.values()] \
        == [1, 1, 1, 1]
    latest = json.loads(list(served.values())[-1])
    assert latest["contracts"][0]["implementation"]["serviceMetrics"][0]["name"] == "People served"
    assert latest["contracts"][0]["milestones"][0]["status"] == "met"
    assert latest["contracts"][0]["socialCommitments"][0]["status"] == "kept"
    # Ids are unique within the ocid, as harvesters require.
    assert len({r.release_id for r in _stored(process)}) == len(_stored(process)) == 9

    record = client.get(f"/open-data/procurement/{releases.ocid(process)}/record.json").get_json()["records"][0]
    assert [linked["url"] for linked in record["releases"]] == [
        f"http://127.0.0.1:5000/open-data/procurement/{releases.ocid(process)}/{n}.json" for n in range(1, 10)]
    assert record["compiledRelease"]["tag"] == ["compiled"]
    assert record["compiledRelease"]["contracts"][0]["socialCommitments"][0]["status"] == "kept"
    statuses = record["versionedRelease"]["contracts"][0]["socialCommitments"][0]["status"]
    assert [(v["value"], v["releaseTag"]) for v in statuses] == [("pending", ["contract"]),
                                                                ("kept", ["implementationUpdate"])]


def test_every_phase_publishes_its_tag(city):
    process = city.process("implementation")
    for commitment in process.contract.commitments:
        contracts.assess_commitment(commitment, "missed", "Not done.", actor=city.official)
    contracts.close(process, actor=city.official)
    assert [r.tags for r in _stored(process)] == [["tender"], ["tenderUpdate"], ["award"], ["contract"],
                                                 ["implementation"], ["implementationUpdate"],
                                                 ["contractTermination"]]
    assert json.loads(_stored(process)[-1].body)["contracts"][0]["status"] == "terminated"
    # A follow-up before the service starts updates the contract.
    signed = city.process("contract", title="Signed, not started")
    contracts.record_metric(signed, "Staff hired", 4, actor=city.official)
    assert _stored(signed)[-1].tags == ["contractUpdate"]


def test_nothing_is_published_while_in_planning_or_by_a_refused_change(city):
    process = city.process("planning")
    assert _stored(process) == []
    implemented = city.process("implementation")
    count = len(_stored(implemented))
    with pytest.raises(Invalid):
        contracts.record_payment(implemented, 10**12, city_today(), actor=city.official)  # more than the contract
    assert len(_stored(implemented)) == count


def test_the_database_refuses_to_change_or_delete_a_published_release(city):
    process = city.process("tender")
    release = _stored(process)[0]
    db.session.commit()
    for statement in ("UPDATE procurement_releases SET body = '{}' WHERE id = :id",
                      "DELETE FROM procurement_releases WHERE id = :id"):
        with pytest.raises(DBAPIError, match="never changed or deleted"):
            db.session.execute(text(statement), {"id": release.id})
        db.session.rollback()
    assert _stored(process)[0].body == release.body


def test_an_amendment_is_published_with_its_rationale_and_stays_in_later_releases(city):
    process = city.process("tender")
    amended = releases.publish_release(process, ["tenderAmendment"], actor=city.official,
                                       amendment=releases.AmendmentNote("A public holiday fell in the bidding period.",
                                                                        "Bids are accepted one week longer."))
    first = _stored(process)[0]
    amendment = json.loads(amended.body)["tender"]["amendments"][0]
    assert amendment["rationale"] == "A public holiday fell in the bidding period."
    assert amendment["description"] == "Bids are accepted one week longer."
    assert (amendment["amendsReleaseID"], amendment["releaseID"]) == (first.release_id, amended.release_id)
    tenders.cancel(process, "The service moves to the city's staff.", actor=city.official)
    cancelled = json.loads(_stored(process)[-1].body)
    assert [a["rationale"] for a in cancelled["tender"]["amendments"]] == [
        "A public holiday fell in the bidding period.", "The service moves to the city's staff."]


def test_the_package_pages_past_its_size_and_every_release_comes_once_in_order(app, client, city):
    for n in range(3):
        city.process("award", title=f"Service {n}")
    app.config["PROCUREMENT_PACKAGE_MAX_RELEASES"] = 4
    seen, url, pages = [], "/open-data/procurement.json", 0
    while url:
        package = client.get(url).get_json()
        assert len(package["releases"]) <= 4 and package["license"] and package["publishedDate"]
        seen += [(r["ocid"], r["id"]) for r in package["releases"]]
        url = package.get("links", {}).get("next", "").replace("http://127.0.0.1:5000", "")
        pages += 1
    stored = db.session.query(Release).order_by(Release.id).all()
    assert seen == [(r.ocid, r.release_id) for r in stored] and pages == 3  # 9 releases, 4 a page
    app.config["PROCUREMENT_PACKAGE_MAX_RELEASES"] = 250_000
    app.config["PROCUREMENT_PACKAGE_MAX_BYTES"] = len(stored[0].body) + 1
    package = client.get("/open-data/procurement.json").get_json()
    assert len(package["releases"]) == 1 and package["links"]["next"].endswith(f"?after={stored[0].id}")
    assert client.get("/open-data/procurement.json?after=x").status_code == 400


def test_the_record_package_has_one_record_per_process(client, city):
    processes = [city.process("tender"), city.process("implementation", title="Another")]
    package = client.get("/open-data/procurement-records.json").get_json()
    assert [r["ocid"] for r in package["records"]] == [releases.ocid(p) for p in processes]
    assert [len(r["releases"]) for r in package["records"]] == [1, 5]
    assert all("compiledRelease" in r and "versionedRelease" in r for r in package["records"])
    assert package["packages"] == ["http://127.0.0.1:5000/open-data/procurement.json"]


def test_the_process_page_links_each_release_and_the_record(client, city):
    process = city.process("award")
    page = client.get(f"/procurement/{process.id}").get_data(as_text=True)
    ocid = releases.ocid(process)
    assert f'href="/open-data/procurement/{ocid}/record.json"' in page
    for n in (1, 2, 3):
        assert f'href="/open-data/procurement/{ocid}/{n}.json"' in page
    assert client.get(f"/open-data/procurement/{ocid}/4.json").status_code == 404
    assert client.get("/open-data/procurement/ocds-nobody-PRC-1/record.json").status_code == 404
    policy = client.get("/procurement/publication-policy")
    assert policy.status_code == 200 and "never changed or deleted" in policy.get_data(as_text=True)


def test_a_process_published_before_releases_were_kept_gets_one_from_its_current_state(city):
    process = city.process("award")
    db.session.commit()
    _as_before_releases_were_kept()
    assert releases.publish_missing() == 1
    assert [r.tags for r in _stored(process)] == [["award"]]
    assert releases.publish_missing() == 0


def _as_before_releases_were_kept():
    """No release and no record, as in a database upgraded from before: emptied the way only its
    owner can (TRUNCATE on PostgreSQL; on SQLite the guarding triggers lifted meanwhile)."""
    db.session.execute(text("DELETE FROM procurement_records"))
    db.session.execute(text("DELETE FROM procurement_amendments"))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE procurement_releases"))
    else:
        triggers = db.session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
        for name, _sql in triggers:
            db.session.execute(text(f'DROP TRIGGER "{name}"'))
        db.session.execute(text("DELETE FROM procurement_releases"))
        for _name, sql in triggers:
            db.session.execute(text(sql))
    db.session.commit()


def test_parallel_payments_publish_one_release_each_numbered_in_order(app, city, backend):
    """Changes of one process at once (separate connections) are serialised: every release
    gets the next number, and each one includes the payments committed before it."""
    process = city.process("implementation")
    process_id, official_id = process.id, city.official.id
    db.session.commit()
    threads_n = 6
    barrier, errors = threading.Barrier(threads_n), []

    def worker(i):
        with app.app_context(), app.test_request_context():
            from app.accounts.models import User
            row, official = db.session.get(Process, process_id), db.session.get(User, official_id)
            db.session.commit()
            barrier.wait()
            try:
                contracts.record_payment(row, 100_000 + i, city_today(), actor=official)
            except Exception as error:  # noqa: BLE001 - asserted on below
                errors.append(error)
            finally:
                db.session.remove()

    at_once(threads_n, worker)
    assert errors == []
    stored = _stored(process)
    assert [r.number for r in stored] == list(range(1, 6 + threads_n))
    paid = [len(json.loads(r.body)["contracts"][0]["implementation"].get("transactions", [])) for r in stored[5:]]
    assert paid == list(range(1, threads_n + 1))
    assert all(a.date < b.date for a, b in zip(stored, stored[1:]))
    assert re.fullmatch(r".*-PRC-\d{4}-\d{4}-11", stored[-1].release_id)


def test_the_package_is_written_in_flat_memory(app, client, city):
    """The whole history streams from the database to a spooled file: memory holds a batch of rows
    and the spool's first megabytes, never the package: twice the releases, the same memory."""
    import tracemalloc

    process = city.process("tender")
    filler = "x" * 20_000

    def add(first, count):
        db.session.add_all(Release(process_id=process.id, number=100 + n, ocid="ocds-test-flat", release_id=f"r{n}",
                                   date=process.published_at, tags=["tenderUpdate"],
                                   body=json.dumps({"ocid": "ocds-test-flat", "id": f"r{n}", "filler": filler}))
                           for n in range(first, first + count))
        db.session.commit()

    def export():
        tracemalloc.start()
        try:
            answer = client.get("/open-data/procurement.json", buffered=False)
            size = sum(len(chunk) for chunk in answer.response)
            return size, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    add(0, 750)
    small, small_peak = export()
    add(750, 750)
    large, large_peak = export()
    assert large > 30_000_000 and large > 1.9 * small
    assert large_peak < 1.25 * small_peak and large_peak < large / 2, (small_peak, large_peak)
