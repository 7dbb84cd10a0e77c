"""Bids sent at the same moment (separate connections): the tender's row lock serialises them,
so one organisation never has two bids that count."""
import threading

from app.extensions import db
from procurement import tenders
from procurement.models import Bid, Process

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
