"""The demo city follows one need end to end: the council's elder-care need (vote), the elder day
centre tender answering it (contract with La Tela, payments), the home-care voucher programme
redeemed at La Tela too, and a signed pact in San Donato; with a timeline, a department head and
Villanova's answer times (procurement's demo links its elder-care tenders to the need when it
creates them). Idempotent: nothing is added once the need has its links."""
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.organisations import operations as organisations
from councils.needs import priority_needs
from pacts.models import SIGNED_STATES, Commons, Pact, pact_commons
from procurement.models import Process
from vouchers.demo import SLUG as PROGRAMME

from . import operations
from .models import NeedLink

TENDER = "Elder day centre in San Donato"
PLACE = "San Donato"


def load(demo) -> None:
    needs = priority_needs(category_slug="elder-care")
    process = db.session.execute(select(Process).where(Process.title == TENDER)).scalars().first()
    if not needs or process is None:
        return
    need = needs[0]
    if db.session.execute(select(NeedLink.id).where(NeedLink.need_id == need.id)).first():
        return
    official = demo.users["admin@villanova.example"]
    operations.link_need(need.id, "programme", PROGRAMME, actor=official)
    pact_id = db.session.execute(
        select(Pact.id).join(pact_commons, pact_commons.c.pact_id == Pact.id)
        .join(Commons, Commons.id == pact_commons.c.commons_id)
        .where(Commons.neighbourhood == PLACE, Pact.state.in_([s.value for s in SIGNED_STATES]))
        .order_by(Pact.id)).scalar()
    if pact_id is None:
        pact_id = db.session.execute(
            select(Pact.id).where(Pact.state.in_([s.value for s in SIGNED_STATES])).order_by(Pact.id)).scalar()
    if pact_id is not None:
        operations.link_need(need.id, "pact", str(pact_id), actor=official)
    organisations.set_department_head(demo.organisations["social-services"], "official@villanova.example",
                                      actor=official)
    contract = process.contract
    on = contract.signed_on if contract else demo.today
    operations.record_entry("need", need.id, on=on, actor=official,
                            text="The elder day centre in San Donato is contracted to La Tela, a social co-operative.")
    operations.record_entry("need", need.id, on=min(demo.today, on + timedelta(days=60)), actor=official,
                            text="The home-care vouchers are accepted at La Tela as well: families choose.",
                            evidence_url="/vouchers/")
