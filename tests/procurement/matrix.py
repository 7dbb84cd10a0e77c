"""Who each procurement route is for (read by tests/test_role_matrix.py).

Object-level rules (only the procuring department's officials move a process;
organisations see their own scores) are tested in test_operations.py and test_views.py."""
import io
from datetime import timedelta

from app.accounts.models import Role
from app.database import transaction
from procurement import contracts, evaluation, processes, tenders

from ..matrix import ANY_USER, OFFICIALS, PUBLIC, roles  # noqa: F401
from .conftest import DECLARED

EXPECTED = {
    "procurement.index": PUBLIC,
    "procurement.show": PUBLIC,
    "procurement.dashboard": PUBLIC,
    "procurement.red_flags": PUBLIC,
    "procurement.flags_json": PUBLIC,
    "procurement.social_economy_share_csv": PUBLIC,
    "procurement.social_economy_share_json": PUBLIC,
    "procurement.create": OFFICIALS,
    "procurement.criteria": OFFICIALS,
    "procurement.publish": OFFICIALS,
    "procurement.move": OFFICIALS,
    "procurement.cancel": OFFICIALS,
    "procurement.extend": OFFICIALS,
    "procurement.bid": roles("org_member"),
    "procurement.withdraw": roles("org_member"),
    "procurement.score": OFFICIALS,
    "procurement.award": OFFICIALS,
    "procurement.bid_document": ANY_USER,
    "procurement.add_evaluator": OFFICIALS,
    "procurement.remove_evaluator": OFFICIALS,
    "procurement.evaluation_pdf": OFFICIALS,
    "procurement.amend_tender": OFFICIALS,
    "procurement.amend_award": OFFICIALS,
    "procurement.contract": OFFICIALS,
    "procurement.amend_contract": OFFICIALS,
    "procurement.payment": OFFICIALS,
    "procurement.metric": OFFICIALS,
    "procurement.milestone": OFFICIALS,
    "procurement.commitment": OFFICIALS,
    "procurement.award_pdf": PUBLIC,
    "procurement.contract_pdf": PUBLIC,
    "procurement.procurement_json": PUBLIC,
    "procurement.procurement_csv": PUBLIC,
    "procurement.release_json": PUBLIC,
    "procurement.record_json": PUBLIC,
    "procurement.latest_release_json": PUBLIC,
    "procurement.process_record_json": PUBLIC,
    "procurement.procurement_records_json": PUBLIC,
    "procurement.tender_deadlines_ics": PUBLIC,
    "procurement.publication_policy": PUBLIC,
    "procurement.extension_json": PUBLIC,
    "procurement.extension_schema_json": PUBLIC,
    "procurement_api.index": PUBLIC,
    "procurement_api.show": PUBLIC,
    "procurement_api.create": OFFICIALS,
    "procurement_api.publish": OFFICIALS,
    "procurement_api.bid": roles("org_member"),
    "procurement_api.withdraw": roles("org_member"),
    "procurement_api.award": OFFICIALS,
    "procurement_api.extend": OFFICIALS,
    "procurement_api.amend_tender": OFFICIALS,
    "procurement_api.amend_award": OFFICIALS,
    "procurement_api.amend_contract": OFFICIALS,
}


def samples(ctx) -> dict:
    """A process in implementation (award, contract, milestone, commitment) and an open tender."""
    department = ctx.make_org("matrix-department", "municipal_department")
    official = ctx.make_user(Role.OFFICIAL, organisations=[department])
    coop = ctx.make_org("matrix-supplier", "social_coop_a")
    member = ctx.make_user(Role.ORG_MEMBER, organisations=[coop])
    criteria = [("price", 60, ""), ("social_inclusion", 40, "")]

    def new(title):
        process = tenders.create_process(actor=official, title=title, department=department, budget_cents=100_000)
        tenders.set_criteria(process, criteria, actor=official)
        tenders.publish_tender(process, ctx.today + timedelta(days=10), actor=official)
        return process

    tender = new("Open tender")
    running = new("Running contract")
    bid = tenders.submit_bid(running, coop, 90_000, actor=member, declarations=DECLARED,
                             documents=[(io.BytesIO(b"%PDF-1.4\n"), "application/pdf", "Proposal")])
    with transaction():  # time passes: the deadline was yesterday
        running.bid_deadline = ctx.today - timedelta(days=1)
    tenders.close_bidding(running, actor=official)
    evaluation.add_evaluator(running, official, actor=official)
    evaluation.score_bid(bid, {c.id: 50 for c in running.criteria if c.kind != "price"}, actor=official,
                         notes={c.id: "Checked." for c in running.criteria})
    evaluation.decide_award(running, actor=official)
    contract = contracts.record_contract(
        running, actor=official, signed_on=ctx.today, period_start=ctx.today,
        period_end=ctx.today + timedelta(days=100), milestones=[("Start", ctx.today + timedelta(days=5))],
        commitments=[("social_inclusion", "people hired", ctx.today + timedelta(days=50), 2)])
    contracts.start_implementation(running, actor=official)
    one = {"process_id": running.id}
    return {
        "procurement.show": one, "procurement.criteria": one, "procurement.publish": one,
        "procurement.move": {**one, "action": "close"}, "procurement.cancel": one,
        "procurement.bid": {"process_id": tender.id}, "procurement.score": {"bid_id": bid.id},
        "procurement.extend": one, "procurement.withdraw": {"bid_id": bid.id}, "procurement.amend_contract": one,
        "procurement_api.withdraw": {"process_id": running.id, "bid_id": bid.id},
        "procurement.award": one, "procurement.contract": one, "procurement.payment": one,
        "procurement.metric": one, "procurement.milestone": {"milestone_id": contract.milestones[0].id},
        "procurement.commitment": {"commitment_id": contract.commitments[0].id},
        "procurement.award_pdf": one, "procurement.contract_pdf": one,
        "procurement.latest_release_json": one, "procurement.process_record_json": one,
        "procurement.release_json": {"ocid": f"{processes.ocid_prefix()}-{running.reference}", "number": 2},
        "procurement.record_json": {"ocid": f"{processes.ocid_prefix()}-{running.reference}"},
        "procurement_api.show": one, "procurement_api.publish": one, "procurement_api.award": one,
        "procurement_api.bid": {"process_id": tender.id},
        "procurement.bid_document": {"document_id": bid.documents[0].id},
        "procurement.add_evaluator": one, "procurement.remove_evaluator": {**one, "user_id": official.id},
        "procurement.evaluation_pdf": one, "procurement.amend_tender": {"process_id": tender.id},
        "procurement.amend_award": one, "procurement_api.extend": {"process_id": tender.id},
        "procurement_api.amend_tender": {"process_id": tender.id}, "procurement_api.amend_award": one,
        "procurement_api.amend_contract": one,
    }
