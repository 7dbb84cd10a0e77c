"""Demo: processes that raise each red flag of procurement/flags.py, and one clean process that
raises none, added to the demo year (procurement/demo.py builds them with its own `build`).

Some of these cases are what today's operations refuse (a contract worth more than its award
without an amendment, payments above the contract, bidding closed before its deadline): they are
written here as a process carried over from before the platform checked them would stand, then
published as a release, as every change is."""
from datetime import timedelta

from app.database import transaction
from app.extensions import db
from app.organisations import operations as orgs

from . import flags
from .demo_criteria import GREEN, SOCIAL
from .models import Payment, Phase, Process
from .releases import AmendmentNote, follow_up_tags, publish_release

CLEAN = "Reading assistants in the libraries"
# The rows of procurement/demo.py's PROCESSES, and the flags each case is there to raise.
CASES = [
    (("Meals on wheels in Borgo Panigale", "social-services", "home-care", "reserved", "contract", SOCIAL,
      {"amici-del-parco": (120_000, [70, 70, 70, 70, 70])}, 2),
     {"reserved-award-unaccredited", "reserved-single-bid", "contract-above-award"}),
    (("Inclusive sports afternoons", "social-services", "disability-support", "open", "implementation", SOCIAL,
      {"amici-del-parco": (80_000, [80, 80, 80, 80, 80]), "serviplus": (78_000, [60, 50, 20, 10, 30])}, 5),
     {"accreditation-lapsed", "payments-above-contract"}),
    (("Park benches repaired with work integration", "commons-office", "work-integration", "reserved", "award",
      GREEN, {"verde-lavoro": (40_000, [80, 80, 80, 80]), "amici-del-parco": (42_000, [60, 60, 60, 60])}, 2),
     {"wage-ratio-above-limit"}),
    (("Neighbourhood mediation service", "social-services", None, "open", "tender", SOCIAL,
      {"serviplus": (30_000, None)}, 0),
     {"bidding-closed-early"}),
    (("After-school club in Navile", "social-services", "childcare", "open", "tender", SOCIAL,
      {"casa-comune": (50_000, None), "serviplus": (47_000, None)}, 0),
     {"bidding-closed-early"}),
    ((CLEAN, "social-services", "childcare", "reserved", "implementation", SOCIAL,
      {"casa-comune": (90_000, [80, 85, 80, 85, 80]), "la-tela": (92_000, [70, 70, 60, 60, 70])}, 3),
     set()),
]


def _process(title: str) -> Process:
    return db.session.execute(db.select(Process).where(Process.title == title)).scalar_one()


def _before(demo, title: str) -> None:
    if title == "Inclusive sports afternoons":
        # Accredited for years, until three weeks ago: the contract runs on without it.
        orgs.accredit(demo.organisations["amici-del-parco"], orgs.category_by_slug("disability-support"),
                      demo.today - timedelta(days=20), valid_from=demo.today - timedelta(days=3 * 365),
                      met_all=True, wage_ratio="3")


def _after(demo, official, process: Process) -> None:
    today = demo.today
    title = process.title
    with transaction():
        if title == "Meals on wheels in Borgo Panigale":
            process.contract.value_cents = process.award.value_cents * 5 // 4
            publish_release(process, ["contractUpdate"], actor=official)
        elif title == "Inclusive sports afternoons":
            db.session.add(Payment(contract=process.contract, amount_cents=process.contract.value_cents,
                                   paid_on=today, note="Whole value paid again by mistake"))
            publish_release(process, follow_up_tags(process), actor=official)
        elif title == "Park benches repaired with work integration":
            # Declared under the city's earlier limit of 1:10, since lowered.
            accreditation = next(a for a in process.award.supplier.accreditations
                                 if a.category_id == process.category_id)
            accreditation.wage_ratio = 9.5
        elif title == "Neighbourhood mediation service":
            for weeks in (5, 7):
                process.bid_deadline = today + timedelta(weeks=weeks)
                publish_release(process, ["tenderAmendment"], actor=official, amendment=AmendmentNote(
                    "More time for small organisations to bid", f"Bids until {process.bid_deadline.isoformat()}"))
        elif title == "After-school club in Navile":
            process.phase = Phase.BIDS.value  # closed the day it was published, three weeks early
            publish_release(process, ["tenderUpdate"], actor=official)


def load(demo, members, official, build) -> None:
    """Idempotent: each case is built once (found by its title afterwards); the flags are then
    recomputed over the whole demo, as the nightly run would once its dates were moved back."""
    existing = set(db.session.execute(db.select(Process.title)).scalars())
    for row, _codes in CASES:
        if row[0] not in existing:
            _before(demo, row[0])
            build(demo, members, official, row)
            _after(demo, official, _process(row[0]))
    flags.refresh(demo.today)
