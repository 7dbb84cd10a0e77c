"""Results: progress computed from the linked records, or set by an official with a reason; the
chain page shows every link; the open data and the CSV round-trip."""
import csv
import io

import pytest

from accountability import exchange, operations
from accountability.results import all_results
from app.accounts.models import Role
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.i18n import city_today


def need_result(need_id):
    [found] = all_results(["need"], [need_id])
    return found


def test_progress_is_computed_from_payments_and_redemptions(chain):
    result = need_result(chain.need.id)
    paid = 3_000_000 * 100 // chain.process.contract.value_cents
    assert result.computed_progress == (paid + 25) // 2   # the contract's share paid, a quarter of the vouchers
    assert result.status == "in_progress" and result.source == "computed"
    assert f"tender:ocds-procomun-villanova-{chain.process.reference}" in result.links
    assert f"programme:{chain.programme.slug}" in result.links
    assert f"vote:vote-event-{chain.need.motion_id}" in result.links


def test_an_official_sets_progress_only_with_a_justification(chain, city, make_user):
    with pytest.raises(Invalid) as error:
        operations.set_progress("need", chain.need.id, status="delivered", progress=100, justification=" ",
                                actor=city.official)
    assert error.value.field == "justification"
    with pytest.raises(NotAllowed):
        operations.set_progress("need", chain.need.id, status="delivered", progress=100, justification="Seen",
                                actor=make_user(Role.CITIZEN))
    with pytest.raises(Invalid):
        operations.set_progress("need", chain.need.id, status="finished", progress=100, justification="Seen",
                                actor=city.official)
    operations.set_progress("need", chain.need.id, status="delivered", progress=100,
                            justification="Visited every home on the list", actor=city.official)
    result = need_result(chain.need.id)
    assert (result.status, result.progress, result.source) == ("delivered", 100, "set")


def test_the_chain_page_shows_every_link_in_each_language(client, chain, city):
    operations.record_entry("need", chain.need.id, on=city_today(), text="First families served",
                            evidence_url="https://example.org/report.pdf", actor=city.official)
    page = client.get(f"/councils/needs/{chain.need.id}").get_data(as_text=True)
    assert chain.process.title in page and "La Tela" in page and "Elder care vouchers" in page
    assert f"vote-event-{chain.need.motion_id}" in page and "First families served" in page
    assert "<svg" in page and "<polyline" in page and 'value="' in page
    for language, word in (("es", "Plazos"), ("it", "Scadenze"), ("ca", "Terminis")):
        answer = client.get(f"/councils/needs/{chain.need.id}", headers={"Accept-Language": language})
        assert word in answer.get_data(as_text=True), language
    assert client.get("/councils/needs/999999").status_code == 404


def test_the_tender_page_of_the_need_links_back(client, chain):
    page = client.get(f"/procurement/{chain.process.id}").get_data(as_text=True)
    assert f'href="/councils/needs/{chain.need.id}"' in page


def test_open_data_lists_every_result_with_its_links(client, chain):
    body = client.get("/open-data/accountability.json").get_json()
    kinds = {r["kind"] for r in body["results"]}
    assert {"need", "commitment"} <= kinds
    need = next(r for r in body["results"] if r["id"] == f"need-{chain.need.id}")
    assert set(need) >= {"id", "kind", "title", "status", "progress", "url", "links"}
    assert need["url"].endswith(f"/councils/needs/{chain.need.id}")
    rows = list(csv.DictReader(io.StringIO(client.get("/open-data/accountability.csv").get_data(as_text=True))))
    assert [r["id"] for r in rows] == [r["id"] for r in body["results"]]


def test_export_then_import_changes_nothing(chain):
    text = exchange.export_csv()
    plan = exchange.import_csv(text)
    assert plan.summary() == f"created 0, updated 0, unchanged {len(plan.rows)}, refused 0"


def test_an_edited_file_changes_exactly_the_edited_rows(chain, city):
    rows = list(csv.DictReader(io.StringIO(exchange.export_csv())))
    need = next(r for r in rows if r["kind"] == "need")
    need.update(status="delivered", progress="100", source="set", justification="All served")
    out = io.StringIO()
    writer = csv.DictWriter(out, exchange.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    plan = exchange.import_csv(out.getvalue(), actor=city.official)
    assert plan.summary() == f"created 1, updated 0, unchanged {len(rows) - 1}, refused 0"
    assert (need_result(chain.need.id).progress, need_result(chain.need.id).source) == (100, "set")
    assert exchange.import_csv(exchange.export_csv()).count("unchanged") == len(rows)


def test_a_bad_row_is_reported_with_its_line_and_nothing_is_written(chain, city):
    rows = list(csv.DictReader(io.StringIO(exchange.export_csv())))
    rows[0].update(status="delivered", progress="100", source="set", justification="ok")
    rows[-1].update(progress="lots")
    out = io.StringIO()
    writer = csv.DictWriter(out, exchange.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    plan = exchange.import_csv(out.getvalue(), actor=city.official)
    assert [(r.line, r.outcome) for r in plan.refused] == [(len(rows) + 1, "refused")]
    assert "whole number" in plan.refused[0].reason
    assert db.session.execute(db.select(db.func.count()).select_from(
        db.metadata.tables["accountability_results"])).scalar() == 0


def test_links_other_than_programmes_and_pacts_are_not_imported(chain):
    text = exchange.export_csv().replace(f"vote:vote-event-{chain.need.motion_id}", "")
    plan = exchange.import_csv(text)
    assert plan.count("refused") == 1 and "own records" in plan.refused[0].reason
    text = exchange.export_csv().replace(f"programme:{chain.programme.slug}", "programme:no-such-programme")
    plan = exchange.import_csv(text)
    assert plan.count("refused") == 1 and "no-such-programme" in plan.refused[0].reason
