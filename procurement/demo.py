"""Demo: a year (and a little more) of social procurement in Villanova, every phase represented,
reserved and open tenders, awards to co-operatives and to a company.

Processes go through the real operations; afterwards their dates are moved
back into the past year, since operations only ever act on today."""
from datetime import datetime, time, timedelta

from sqlalchemy import select

from app.accounts import operations as accounts
from app.accounts.models import Role
from app.database import transaction
from app.demo import create_demo_user
from app.extensions import db
from app.i18n import city_timezone
from app.organisations import operations as orgs
from councils.needs import priority_needs

from . import bid_documents, contracts, demo_flags, evaluation, tenders
from .demo_criteria import GREEN, SOCIAL
from .models import Process

# Bidders for the organisations the core demo gives no account to.
BIDDERS = [("verde-lavoro@villanova.example", "Amina Diallo", "verde-lavoro"),
           ("serviplus@villanova.example", "Roberto Conti", "serviplus"),
           ("amici@villanova.example", "Elena Greco", "amici-del-parco")]


# title, department, category, procedure, phase, criteria, bidders {slug: (amount €, scores)}, months ago
PROCESSES = [
    ("Summer camps for children with disabilities", "social-services", "disability-support", "co_design",
     "planning", SOCIAL, {}, 0),
    ("Home care for older people in San Donato", "social-services", "home-care", "reserved", "tender", SOCIAL,
     {"la-tela": (182_000, None)}, 0),
    ("Park maintenance with work integration", "commons-office", "work-integration", "reserved", "tender", GREEN,
     {}, 0),
    ("Community kitchen in Navile", "social-services", "elder-care", "open", "bids", SOCIAL,
     {"casa-comune": (96_000, [70, 80, 90, 85, 80]), "serviplus": (88_000, [90, 60, 20, 10, 40])}, 1),
    ("Childcare centre in Porto", "social-services", "childcare", "co_design", "award", SOCIAL,
     {"casa-comune": (240_000, [75, 85, 60, 95, 80]), "la-tela": (236_000, [80, 70, 50, 60, 70])}, 2),
    ("Cleaning of the civic centres", "commons-office", None, "open", "contract", GREEN,
     {"serviplus": (64_000, [95, 90, 60, 60]), "verde-lavoro": (71_000, [70, 60, 80, 80])}, 4),
    ("Elder day centre in San Donato", "social-services", "elder-care", "reserved", "implementation", SOCIAL,
     {"la-tela": (310_000, [80, 85, 70, 80, 90]), "casa-comune": (318_000, [75, 80, 60, 70, 80])}, 7),
    ("Youth counselling desk", "social-services", None, "open", "implementation", SOCIAL,
     {"serviplus": (45_000, [95, 85, 40, 40, 60]), "amici-del-parco": (52_000, [60, 55, 70, 70, 80])}, 12),
    ("Winter shelter", "social-services", None, "negotiated", "closed", SOCIAL,
     {"amici-del-parco": (58_000, [80, 80, 80, 80, 80])}, 14),
    ("Transport to day centres", "social-services", "elder-care", "open", "cancelled", GREEN, {}, 5),
]
# The social commitment a contract takes on for each social criterion: what is counted, how many.
COMMITMENTS = {"social_inclusion": ("people hired from the work-integration list", 3),
               "user_participation": ("design workshops held with users and families", 2),
               "environmental": ("electric vehicles in the service's fleet", 4),
               "local_employment": ("staff hired from the neighbourhood", 5),
               "fair_wages": ("staff paid under the collective agreement (per cent)", 100)}
STEPS = ["planning", "tender", "bids", "award", "contract", "implementation", "closed"]


def _members(demo) -> dict:
    members = {"la-tela": demo.users["coop@villanova.example"],
               "casa-comune": demo.users["coop2@villanova.example"]}
    for email, name, slug in BIDDERS:
        user = accounts.find_user(email) or create_demo_user(
            email, name=name, roles=[Role.ORG_MEMBER, Role.CITIZEN],
            organisations=[demo.organisations[slug]])
        members[slug] = user
    return members


def _at(day) -> datetime:
    return datetime.combine(day, time(10), tzinfo=city_timezone())


def _backdate(process: Process, months: int, today) -> None:
    """Move the process's dates back: opened `months` ago, a month per later step."""
    start = today - timedelta(days=30 * months)
    process.created_at = _at(start - timedelta(days=10))
    if process.published_at:
        process.published_at = _at(start)
        if months:
            process.bid_deadline = start + timedelta(days=21)
    if process.award:
        process.award.decided_on = start + timedelta(days=30)


def _build(demo, members, official, row) -> None:
    title, department, category, procedure, phase, criteria, bidders, months = row
    today = demo.today
    # A tender in a category the joint council made a priority answers that need (accountability's chain).
    need = next(iter(priority_needs(category_slug=category)), None) if category else None
    process = tenders.create_process(
        actor=official, title=title, department=demo.organisations[department], procedure=procedure,
        budget_cents=sum(a for a, _s in bidders.values()) * 100 or 150_000_00,
        category=orgs.category_by_slug(category) if category else None,
        priority_need_id=need.id if need else None,
        description=f"{title}: a service for the people of Villanova, designed with its users.")
    tenders.set_criteria(process, criteria, actor=official)
    if phase == "cancelled":
        tenders.cancel(process, "The service will be run by the city's own staff.", actor=official)
    target = STEPS.index(phase) if phase in STEPS else 0
    if target >= 1:
        tenders.publish_tender(process, today + timedelta(days=21), actor=official)
        for slug, (amount, _scores) in bidders.items():
            tenders.submit_bid(process, demo.organisations[slug], amount * 100, actor=members[slug],
                               summary=f"Our proposal for “{title}”.",
                               declarations=[d.code for d in bid_documents.required_declarations(process)])
    if target >= 2:
        with transaction():  # time passes: bidding closes only after the deadline
            process.bid_deadline = today - timedelta(days=1)
        tenders.close_bidding(process, actor=official)
        # A panel of two: the admin and the social-services official, who agree on every score.
        panel = [official, demo.users["official@villanova.example"]]
        for evaluator in panel:
            evaluation.add_evaluator(process, evaluator, actor=official)
        for bid in process.bids:
            # The demo's score lists start with price, which is computed now, not typed.
            scored = [(c, s) for c, s in zip(process.criteria, bidders[bid.organisation.slug][1])
                      if c.kind != "price"]
            for evaluator in panel:
                evaluation.score_bid(bid, {c.id: s for c, s in scored}, actor=evaluator,
                                     notes={c.id: "Assessed against the published criterion." for c, _s in scored})
    if target >= 3:
        evaluation.decide_award(process, actor=official)
    if target >= 4:
        start = today - timedelta(days=30 * months) + timedelta(days=45)
        end = start + timedelta(days=365)
        contracts.record_contract(
            process, actor=official, signed_on=min(start, today), period_start=start, period_end=end,
            milestones=[("Service starts", start + timedelta(days=7)),
                        ("Six-month report", start + timedelta(days=180))],
            commitments=[(c.kind, *COMMITMENTS[c.kind][:1], start + timedelta(days=90 + 60 * n), COMMITMENTS[c.kind][1])
                         for n, c in enumerate([c for c in process.criteria if c.kind_enum.social][:2])])
    if target >= 5:
        contract = process.contract
        contracts.start_implementation(process, actor=official)
        contracts.report_milestone(contract.milestones[0], "The service opened on time.", actor=official,
                                   met_on=contract.milestones[0].due_on)
        contracts.record_payment(process, contract.value_cents // 4,
                                 min(today, contract.period_start + timedelta(days=60)),
                                 actor=official, note="First quarter")
        contracts.record_metric(process, "People served", 40 + months * 3, unit="people", actor=official)
        first = contract.commitments[0]
        if first.due_on <= today:
            outcome = "missed" if bidders and next(iter(bidders)) == "serviplus" else "kept"
            contracts.assess_commitment(first, outcome, "Checked against the payroll.", actor=official)
    if target >= 6:
        for commitment in process.contract.commitments:
            if commitment.status == "pending":
                contracts.assess_commitment(commitment, "kept", "Checked at the closing visit.", actor=official)
        contracts.close(process, actor=official)
    with transaction():
        _backdate(process, months, today)


def load(demo) -> None:
    """Idempotent: each process is created once, found by its title afterwards."""
    members = _members(demo)
    official = demo.users["admin@villanova.example"]  # an admin may act for both departments
    existing = set(db.session.execute(select(Process.title)).scalars())
    for row in PROCESSES:
        if row[0] not in existing:
            _build(demo, members, official, row)
    demo_flags.load(demo, members, official, _build)
