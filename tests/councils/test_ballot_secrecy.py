"""Ballot secrecy in the database itself (issue #17): a ballot's marks carry no voter and no time,
and neither their keys, nor the order the rows lie in, nor the transaction that wrote them follows
the order in which the organisations voted."""
from datetime import timedelta

import pytest
from sqlalchemy import DateTime, select, text

from app.accounts.models import Role
from app.extensions import db
from app.i18n import city_today
from app.organisations import operations as organisations
from councils import elections
from councils.models import BallotMark, ElectionVoter

VOTERS = 24


@pytest.fixture
def voted(make_council, make_org, make_category, make_user, official):
    """24 organisations vote one after the other: the first half for Ana, the second for Bea.
    Were the marks kept in voting order, they would read 12 × Ana then 12 × Bea."""
    council = make_council(seats=2, start=city_today() - timedelta(days=30))
    care = make_category("elder-care")
    voters = []
    for n in range(VOTERS):
        org = make_org(f"coop-{n}")
        organisations.accredit(org, care, city_today() + timedelta(days=365), met_all=True)
        voters.append((org, make_user(Role.ORG_MEMBER, organisations=[org])))
    election = elections.open_election(council, "Civil seats", 2, actor=official)
    ana = elections.nominate(election, voters[0][0], make_user(name="Ana"), actor=voters[0][1])
    bea = elections.nominate(election, voters[1][0], make_user(name="Bea"), actor=voters[1][1])
    elections.open_voting(election, actor=official)
    for n, (org, member) in enumerate(voters):
        elections.cast_ballot(election, org, [ana.id if n < VOTERS // 2 else bea.id], actor=member)
    return election, ana, bea


def _voting_order(election):
    return [row.organisation_id for row in db.session.execute(
        select(ElectionVoter).where(ElectionVoter.election_id == election.id).order_by(ElectionVoter.id)).scalars()]


def test_marks_are_not_in_the_voters_order_by_key_nor_on_disk(voted, backend):
    election, ana, bea = voted
    in_voting_order = [ana.id] * (VOTERS // 2) + [bea.id] * (VOTERS // 2)
    by_key = db.session.execute(select(BallotMark.candidacy_id).where(BallotMark.election_id == election.id)
                                .order_by(BallotMark.id)).scalars().all()
    # The order the rows lie in: PostgreSQL's physical position; on SQLite the rowid is the key.
    physical = "ctid" if backend == "postgresql" else "rowid"
    on_disk = db.session.execute(text(
        f"SELECT candidacy_id FROM council_ballot_marks WHERE election_id = :e ORDER BY {physical}"),
        {"e": election.id}).scalars().all()
    assert sorted(by_key) == sorted(in_voting_order)  # every ballot is counted
    # A shuffle gives back the voting order once in C(24, 12) = 2,704,156 draws.
    assert by_key != in_voting_order and on_disk != in_voting_order
    assert [count for _cand, count in elections.tally(election)] == [VOTERS // 2, VOTERS // 2]


def test_mark_keys_are_random_not_a_counter(voted):
    election, _ana, _bea = voted
    keys = db.session.execute(select(BallotMark.id)).scalars().all()
    assert len(set(keys)) == VOTERS
    # A counter gives 24 keys within 24 of each other; random 63-bit keys spread over ~2^63.
    assert max(keys) - min(keys) > 2**40
    assert not BallotMark.__table__.c.id.autoincrement


def test_marks_have_no_column_that_links_them_to_a_voter_or_a_time():
    columns = BallotMark.__table__.c
    assert set(columns.keys()) == {"id", "election_id", "candidacy_id"}
    assert not any(isinstance(column.type, DateTime) for column in columns)
    assert {fk.column.table.name for fk in BallotMark.__table__.foreign_keys} == {
        "council_elections", "council_candidacies"}


def test_every_mark_was_last_written_by_one_transaction_on_postgresql(voted, backend):
    """PostgreSQL stamps each row with the transaction that wrote it (xmin): were each ballot's
    marks written alone, xmin would tie them to the voter row written in the same transaction."""
    if backend != "postgresql":
        pytest.skip("xmin exists on PostgreSQL only; SQLite keeps no writer per row")
    election, _ana, _bea = voted
    writers = db.session.execute(text("SELECT DISTINCT xmin::text FROM council_ballot_marks WHERE election_id = :e"),
                                 {"e": election.id}).scalars().all()
    assert len(writers) == 1
    first_voter = db.session.execute(text(
        "SELECT xmin::text FROM council_election_voters WHERE election_id = :e ORDER BY id LIMIT 1"),
        {"e": election.id}).scalar_one()
    assert first_voter not in writers and len(_voting_order(election)) == VOTERS
