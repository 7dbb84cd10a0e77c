"""Each link shown on both ends: a pact's page and a voucher programme's page name the council
needs they serve and answer, with a link to the need's chain page, in the four languages; and the
money redeemed under a need is net of what the co-ops refunded."""
from sqlalchemy import select

from accountability import chain as chains
from accountability import operations
from accountability.results import all_results
from app.extensions import db
from pacts.models import PactState
from vouchers import programmes, refunds
from vouchers.models import Redemption, Voucher

from ..conftest import login
from ..pacts.conftest import World

LABELS = {"en": ("Linked records", "Answers the council priority need", "Serves the council priority need"),
          "es": ("Registros vinculados", "Responde a la necesidad prioritaria del consejo",
                 "Sirve a la necesidad prioritaria del consejo"),
          "it": ("Atti collegati", "Risponde al bisogno prioritario della consulta",
                 "Serve il bisogno prioritario della consulta"),
          "ca": ("Registres vinculats", "Respon a la necessitat prioritària del consell",
                 "Serveix la necessitat prioritària del consell")}


def test_the_programme_page_names_the_need_it_answers_in_four_languages(app, chain, city):
    client = app.test_client()
    login(client, city.official.email)
    for language, (heading, answers, _serves) in LABELS.items():
        page = client.get(f"/vouchers/programmes/{chain.programme.slug}",
                          headers={"Accept-Language": language}).get_data(as_text=True)
        assert heading in page and answers in page, language
        assert f'href="/councils/needs/{chain.need.id}"' in page


def test_a_programme_no_need_names_shows_no_linked_records(app, city):
    from datetime import timedelta

    from app.i18n import city_today
    lone = programmes.create_programme("lone-vouchers", "Lone vouchers", 10_000, ["elder-care"],
                                       city_today() + timedelta(days=30), actor=city.official)
    client = app.test_client()
    login(client, city.official.email)
    assert "Linked records" not in client.get(f"/vouchers/programmes/{lone.slug}").get_data(as_text=True)


def test_a_pact_page_names_the_needs_it_serves_linked_or_by_its_commons(client, chain, city, make_user):
    world = World(make_user)   # its commons is in Navile, the neighbourhood the need names
    waiting = world.walk(world.propose(), PactState.SUBMITTED)   # linked by hand, not yet signed
    operations.link_need(chain.need.id, "pact", str(waiting.id), actor=city.official)
    active = world.walk(world.propose(title="Care for the Navile garden"), PactState.ACTIVE)
    for pact in (waiting, active):
        for language, (heading, _answers, serves) in LABELS.items():
            answer = client.get(f"/pacts/{pact.id}", headers={"Accept-Language": language})
            page = answer.get_data(as_text=True)
            assert answer.status_code == 200
            assert heading in page and serves in page, (pact.title, language)
            assert f'href="/councils/needs/{chain.need.id}"' in page
    # And the chain page names both pacts: the same links, read from the need's end.
    [result] = all_results(["need"], [chain.need.id])
    assert {f"pact:{waiting.id}", f"pact:{active.id}"} <= set(result.links)


def test_a_pact_elsewhere_names_no_need(client, chain, city, make_user):
    world = World(make_user)
    from pacts import commons_register
    elsewhere = commons_register.save_commons(actor=world.official, name="Giardino", kind="green_area",
                                              neighbourhood="Borgo Panigale", place="Via Roma 2", latitude=44.5,
                                              longitude=11.3, department="Commons office")
    pact = world.walk(world.propose(commons_ids=[elsewhere.id]), PactState.ACTIVE)
    assert "Linked records" not in client.get(f"/pacts/{pact.id}").get_data(as_text=True)


def test_what_the_coops_refund_is_not_counted_as_redeemed(client, chain, city):
    sale = db.session.execute(select(Redemption).join(Voucher, Voucher.id == Redemption.voucher_id)
                              .where(Voucher.programme_id == chain.programme.id)).scalar_one()
    before = all_results(["need"], [chain.need.id])[0].computed_progress
    refunds.refund(sale.id, 5_000, "one visit was not made", actor=city.coop_member)
    found = chains.chain(chain.need.id)
    assert found.redemptions[0][1] == 20_000                       # 25,000 redeemed, 5,000 refunded
    assert found.chart["totals"]["redeemed"] == 20_000
    assert programmes.programme_figures(chain.programme)["redeemed"] == 20_000
    after = all_results(["need"], [chain.need.id])[0].computed_progress
    paid = 3_000_000 * 100 // chain.process.contract.value_cents
    assert (before, after) == ((paid + 25) // 2, (paid + 20) // 2)  # the programme's share: 25% → 20% of its budget
    page = client.get(f"/councils/needs/{chain.need.id}").get_data(as_text=True)
    assert "200.00" in page or "200,00" in page
