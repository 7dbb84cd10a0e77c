"""Procurement fixtures: a department with its official, co-ops with members,
and a process brought to any phase through the real operations."""
from datetime import timedelta

import pytest

from app.accounts.models import Role, User
from app.database import transaction
from app.extensions import db
from app.i18n import city_today
from procurement import contracts, evaluation, processes, tenders
from procurement.bid_documents import DECLARATIONS

# Every declaration ticked: what a bidder who may bid on any tender declares.
DECLARED = list(DECLARATIONS)

CRITERIA = [("price", 40, "Lowest price gets full marks."),
            ("quality", 30, ""),
            ("social_inclusion", 20, "People from the work-integration list."),
            ("local_employment", 10, "")]


def pass_deadline(process):
    """Time passes: the tender's deadline was yesterday (operations only ever act on today)."""
    with transaction():
        process.bid_deadline = city_today() - timedelta(days=1)


def score(process, bid, values, official):
    """`official` scores a bid from a list with one value per criterion, price included (the price's
    value is ignored: it is computed), each with a justification; `official` joins the evaluation
    panel first if not on it."""
    if not evaluation.on_panel(official, process):
        manager = official if processes.can_manage(official, process) else db.session.get(User, process.created_by_id)
        evaluation.add_evaluator(process, official, actor=manager)
    scored = [(c, s) for c, s in zip(process.criteria, values) if c.kind != "price"]
    evaluation.score_bid(bid, {c.id: s for c, s in scored}, actor=official,
                         notes={c.id: "Checked against the proposal." for c, _s in scored})


class City:
    """A small city: one department and its official, an outside official,
    three suppliers (two co-ops and a company) each with a member."""

    def __init__(self, make_user, make_org, make_category):
        self.department = make_org("social-services", "municipal_department", name="Social Services")
        self.other_department = make_org("commons-office", "municipal_department", name="Commons Office")
        self.official = make_user(Role.OFFICIAL, organisations=[self.department])
        self.outsider = make_user(Role.OFFICIAL, organisations=[self.other_department])
        self.admin = make_user(Role.ADMIN)
        self.category = make_category("elder-care")
        self.coop = make_org("la-tela", "social_coop_a", name="La Tela")
        self.coop_b = make_org("verde-lavoro", "social_coop_b", name="Verde Lavoro")
        self.company = make_org("serviplus", "company", name="ServiPlus")
        self.coop_member = make_user(Role.ORG_MEMBER, organisations=[self.coop])
        self.coop_b_member = make_user(Role.ORG_MEMBER, organisations=[self.coop_b])
        self.company_member = make_user(Role.ORG_MEMBER, organisations=[self.company])

    def member(self, org):
        return {self.coop.id: self.coop_member, self.coop_b.id: self.coop_b_member,
                self.company.id: self.company_member}[org.id]

    def process(self, phase="planning", procedure="open", budget=12_000_000, bidders=None, scores=None,
                title="Home care for older people"):
        """A process brought to `phase`; bidders default to the two co-ops;
        scores {org slug: [score per criterion]} (defaults give la-tela the win)."""
        process = tenders.create_process(actor=self.official, title=title, department=self.department,
                                         budget_cents=budget, procedure=procedure, category=self.category)
        tenders.set_criteria(process, CRITERIA, actor=self.official)
        if phase == "planning":
            return process
        tenders.publish_tender(process, city_today() + timedelta(days=30), actor=self.official)
        if phase == "tender":
            return process
        bidders = bidders or [self.coop, self.coop_b]
        for n, org in enumerate(bidders):
            tenders.submit_bid(process, org, 10_000_000 + n * 500_000, actor=self.member(org), declarations=DECLARED)
        pass_deadline(process)
        tenders.close_bidding(process, actor=self.official)
        if phase == "bids":
            return process
        scores = scores or {"la-tela": [80, 90, 70, 60], "verde-lavoro": [70, 60, 90, 80],
                            "serviplus": [90, 50, 10, 20]}
        for bid in process.bids:
            score(process, bid, scores[bid.organisation.slug], self.official)
        if phase == "scored":
            return process
        evaluation.decide_award(process, actor=self.official)
        if phase == "award":
            return process
        today = city_today()
        contracts.record_contract(process, actor=self.official, signed_on=today, period_start=today,
                                  period_end=today + timedelta(days=365),
                                  milestones=[("Service starts", today + timedelta(days=10))],
                                  commitments=[("social_inclusion", "people hired from the work-integration list",
                                                 today + timedelta(days=90), 4)])
        if phase == "contract":
            return process
        contracts.start_implementation(process, actor=self.official)
        return process


@pytest.fixture
def city(app, make_user, make_org, make_category):
    return City(make_user, make_org, make_category)


@pytest.fixture(autouse=True)
def request_context(app):
    """Operations raise translated errors; translating needs a request's locale."""
    with app.test_request_context():
        yield
