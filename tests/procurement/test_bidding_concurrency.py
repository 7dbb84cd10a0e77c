"""Bids sent at the same moment (separate connections): the tender's row lock serialises them,
so one organisation never has two bids that count."""
import threading

from app.extensions import db
from procurement import evaluation, tenders
from procurement.models import Bid, Process, Score

from ..conftest import at_once
from .conftest import DECLARED


def test_bids_of_one_organisation_at_once_leave_exactly_one_that_counts(app, city):
    process = city.process("tender")
    process_id, member_id, coop_id = process.id, city.coop_member.id, city.coop.id
    db.session.commit()
    threads_n = 6
    barrier, errors = threading.Barrier(threads_n), []

    def worker(i):
        with app.app_context(), app.test_request_context():
            from app.accounts.models import User
            from app.organisations.models import Organisation
            row, member = db.session.get(Process, process_id), db.session.get(User, member_id)
            coop = db.session.get(Organisation, coop_id)
            db.session.commit()
            barrier.wait()
            try:
                tenders.submit_bid(row, coop, 1_000_000 + i, actor=member, declarations=DECLARED)
            except Exception as error:  # noqa: BLE001 - asserted on below
                errors.append(error)
            finally:
                db.session.remove()

    at_once(threads_n, worker)
    assert errors == []
    bids = db.session.query(Bid).order_by(Bid.id).all()
    assert len(bids) == threads_n
    assert [b.status for b in bids] == ["replaced"] * (threads_n - 1) + ["active"]


def test_an_evaluator_scoring_a_bid_twice_at_once_scores_it_once(app, city):
    """The same panel member's form sent from several tabs at once: one set of scores is kept, the
    others are refused (a score once given is not changed)."""
    process = city.process("bids")
    evaluation.add_evaluator(process, city.official, actor=city.official)
    process_id, bid_id, official_id = process.id, process.bids[0].id, city.official.id
    criteria = [c.id for c in evaluation.scored_by_evaluators(process)]
    db.session.commit()
    threads_n = 4
    barrier, errors = threading.Barrier(threads_n), []

    def worker(i):
        with app.app_context(), app.test_request_context():
            from app.accounts.models import User
            bid, official = db.session.get(Bid, bid_id), db.session.get(User, official_id)
            bid.process.panel  # noqa: B018 - loaded before the race
            db.session.commit()
            barrier.wait()
            try:
                evaluation.score_bid(bid, {c: 50 + i for c in criteria}, notes={c: "Seen." for c in criteria},
                                     actor=official)
            except Exception as error:  # noqa: BLE001 - asserted on below
                errors.append(error)
            finally:
                db.session.remove()

    at_once(threads_n, worker)
    assert len(errors) == threads_n - 1 and all("already scored" in str(e) for e in errors)
    scores = db.session.query(Score).filter_by(bid_id=bid_id).all()
    assert len(scores) == len(criteria) and len({s.score for s in scores}) == 1
    assert db.session.get(Process, process_id).phase == "bids"
