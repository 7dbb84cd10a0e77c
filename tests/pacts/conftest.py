"""Fixtures for the pacts tests: a register with one commons and one standard
form, an official and a citizen, and a helper that walks a pact to any state."""
from datetime import timedelta

import pytest

from app.accounts.models import Role
from pacts import commons_register, lifecycle, proposals, signing, standard_forms
from pacts.models import CLAUSES, PactState

FULL_CLAUSES = {key: f"{key.replace('_', ' ').capitalize()}: agreed text." for key in CLAUSES}


class World:
    def __init__(self, make_user):
        self.official = make_user(Role.OFFICIAL, name="Olga Official")
        self.citizen = make_user(Role.CITIZEN, name="Carla Citizen")
        self.other = make_user(Role.CITIZEN, name="Otto Other")
        self.commons = commons_register.save_commons(actor=self.official, name="Piazza Verdi", kind="square",
                                                     neighbourhood="Navile", place="Piazza Verdi 1",
                                                     latitude=44.5, longitude=11.35, department="Commons office")
        self.form = standard_forms.save_standard_form(actor=self.official, title="Adopt a flowerbed",
                                                      intervention="care", clauses=FULL_CLAUSES)

    def propose(self, track="complex", **fields):
        values = dict(actor=self.citizen, title="Care for Piazza Verdi", intervention="care", track=track,
                      commons_ids=[self.commons.id], what="Plant and water the flowerbeds.",
                      why="The square is neglected.", participants="Ten neighbours",
                      resources=["tools"], duration_months=12, report_every_months=6,
                      standard_form=self.form if track == "ordinary" else None)
        values.update(fields)
        return proposals.propose(**values)

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
                lifecycle.submit(pact, actor=self.citizen)
            elif state == PactState.CONSULTATION:
                lifecycle.open_consultation(pact, actor=self.official)
            elif state == PactState.EVALUATION:
                lifecycle.close_consultation(pact, actor=self.official, today=pact.consultation_ends)
            elif state == PactState.CO_DESIGN:
                lifecycle.start_co_design(pact, actor=self.official)
                signing.save_version(pact, FULL_CLAUSES, actor=self.official, note="Agreed text")
            elif state == PactState.APPROVED:
                lifecycle.approve(pact, actor=self.official)
            elif state == PactState.SIGNED:
                signing.sign(pact, "citizens", actor=self.citizen)
                signing.sign(pact, "city", actor=self.official)
            elif state == PactState.ACTIVE:
                lifecycle.activate(pact, actor=self.official)
        assert pact.state == target
        return pact


@pytest.fixture
def world(app, make_user):
    return World(make_user)


def days(n):
    return timedelta(days=n)
