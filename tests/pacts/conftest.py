"""Fixtures for the pacts tests: a register with one commons and one standard
form, an official and a citizen, and a helper that walks a pact to any state."""
from datetime import timedelta

import pytest

from app.accounts.models import Role
from pacts import operations as ops
from pacts.models import CLAUSES, PactState

FULL_CLAUSES = {key: f"{key.replace('_', ' ').capitalize()}: agreed text." for key in CLAUSES}


class World:
    def __init__(self, make_user):
        self.official = make_user(Role.OFFICIAL, name="Olga Official")
        self.citizen = make_user(Role.CITIZEN, name="Carla Citizen")
        self.other = make_user(Role.CITIZEN, name="Otto Other")
        self.commons = ops.save_commons(actor=self.official, name="Piazza Verdi", kind="square",
                                        neighbourhood="Navile", place="Piazza Verdi 1",
                                        latitude=44.5, longitude=11.35, department="Commons office")
        self.form = ops.save_standard_form(actor=self.official, title="Adopt a flowerbed",
                                           intervention="care", clauses=FULL_CLAUSES)

    def propose(self, track="complex", **fields):
        values = dict(actor=self.citizen, title="Care for Piazza Verdi", intervention="care", track=track,
                      commons_ids=[self.commons.id], what="Plant and water the flowerbeds.",
                      why="The square is neglected.", participants="Ten neighbours",
                      resources=["tools"], duration_months=12, report_every_months=6,
                      standard_form=self.form if track == "ordinary" else None)
        values.update(fields)
        return ops.propose(**values)

    def walk(self, pact, target: PactState):
        """Move `pact` along the ordinary path until it reaches `target`."""
        path = [PactState.SUBMITTED, PactState.CONSULTATION, PactState.EVALUATION]
        if pact.track == "complex":
            path.append(PactState.CO_DESIGN)
        path += [PactState.APPROVED, PactState.SIGNED, PactState.ACTIVE]
        for state in path:
            if pact.state == target:
                return pact
            if state == PactState.SUBMITTED:
                ops.submit(pact, actor=self.citizen)
            elif state == PactState.CONSULTATION:
                ops.open_consultation(pact, actor=self.official)
            elif state == PactState.EVALUATION:
                ops.close_consultation(pact, actor=self.official, today=pact.consultation_ends)
            elif state == PactState.CO_DESIGN:
                ops.start_co_design(pact, actor=self.official)
                ops.save_version(pact, FULL_CLAUSES, actor=self.official, note="Agreed text")
            elif state == PactState.APPROVED:
                ops.approve(pact, actor=self.official)
            elif state == PactState.SIGNED:
                ops.sign(pact, "citizens", actor=self.citizen)
                ops.sign(pact, "city", actor=self.official)
            elif state == PactState.ACTIVE:
                ops.activate(pact, actor=self.official)
        assert pact.state == target
        return pact


@pytest.fixture
def world(app, make_user):
    return World(make_user)


def days(n):
    return timedelta(days=n)
