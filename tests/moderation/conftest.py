"""Fixtures for the moderation tests: a pact in public consultation with a comment on it, people
to report it, and two moderators."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.extensions import db
from app.i18n import city_today
from app.moderation.models import ModerationCase
from app.notifications.models import OutboxEvent
from app.organisations import operations as organisations
from councils import elections
from councils import operations as councils
from pacts.disputes import raise_dispute  # noqa: F401  (the pacts operations these tests call, in one place)
from pacts.models import PactState
from pacts.proposals import comment  # noqa: F401
from pacts.reports import file_report, report_schedule  # noqa: F401

from ..pacts.conftest import World

COMMENT = "Count me in for the watering, and my neighbour Anna Bianchi (333 765 4321) too."


class Scene:
    def __init__(self, make_user):
        self.world = World(make_user)
        self.pact = self.world.walk(self.world.propose(), PactState.CONSULTATION)
        self.commenter = make_user(Role.CITIZEN, name="Cora Commenter")
        self.comment = comment(self.pact, COMMENT, actor=self.commenter)
        self.reporters = [make_user(Role.CITIZEN, name=f"Reporter {n}") for n in range(1, 7)]
        self.moderator = make_user(Role.MODERATOR, name="Mona Moderator")
        self.other_moderator = make_user(Role.MODERATOR, name="Milo Moderator")


@pytest.fixture
def scene(app, make_user):
    return Scene(make_user)


def case_of(subject_type: str, subject_id: int) -> ModerationCase:
    db.session.expire_all()
    return db.session.execute(select(ModerationCase).where(
        ModerationCase.subject_type == subject_type, ModerationCase.subject_id == subject_id)).scalar_one()


def events(kind: str) -> list[OutboxEvent]:
    return list(db.session.execute(select(OutboxEvent).where(OutboxEvent.kind == kind)
                                   .order_by(OutboxEvent.id)).scalars())


@pytest.fixture
def nomination(app, make_user, make_org, make_category):
    """A candidate's nomination statement in an open selection round of a new council."""
    official = make_user(Role.OFFICIAL, name="Olga Official")
    council = councils.create_council("neighbourhood-council", "Neighbourhood council", seats_per_side=1,
                                      first_term_start=date(2020, 1, 1), first_chair_side="government",
                                      actor=official)
    election = elections.open_election(council, "Civil seat, spring round", 1, actor=official)
    org = make_org("la-tela", kind="social_coop_a", neighbourhood="Navile")
    organisations.accredit(org, make_category("elder-care"), city_today() + timedelta(days=365), met_all=True)
    voter = make_user(Role.ORG_MEMBER, organisations=[org], name="Vera Voter")
    candidate = make_user(Role.CITIZEN, name="Carlo Candidate")
    return elections.nominate(election, org, candidate, actor=voter,
                              statement="Twenty years in home care; ask my wife Lucia at 333 222 1111.")
