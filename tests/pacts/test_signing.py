"""Signing by both parties, the clauses required first, signed versions that
never change, and amendments signed again."""
import pytest
from sqlalchemy import select

from app.dates import add_months
from app.errors import Invalid, InvalidTransition, NotAllowed
from app.extensions import db
from pacts import lifecycle, signing
from pacts.models import CLAUSES, PactState, PactVersion

from .conftest import FULL_CLAUSES


def test_every_clause_is_required_before_approval_and_signing(world):
    pact = world.walk(world.propose(), PactState.CO_DESIGN)
    partial = {**FULL_CLAUSES, "disputes": "", "end_of_pact": "  "}
    signing.save_version(pact, partial, actor=world.citizen, note="Almost")
    with pytest.raises(Invalid, match="still empty: How disputes are settled; What happens"):
        lifecycle.approve(pact, actor=world.official)
    signing.save_version(pact, FULL_CLAUSES, actor=world.official)
    lifecycle.approve(pact, actor=world.official)
    assert pact.state == PactState.APPROVED


def test_both_parties_sign_the_exact_version_with_name_and_time(world):
    pact = world.walk(world.propose(), PactState.APPROVED)
    version = pact.latest_version
    with pytest.raises(NotAllowed, match="Only the proposer"):
        signing.sign(pact, "citizens", actor=world.other)
    with pytest.raises(NotAllowed, match="Only a city official"):
        signing.sign(pact, "city", actor=world.citizen)
    signing.sign(pact, "citizens", actor=world.citizen, version_number=version.number)
    assert pact.state == PactState.APPROVED
    with pytest.raises(Invalid, match="already signed"):
        signing.sign(pact, "citizens", actor=world.citizen)
    signing.sign(pact, "city", actor=world.official)
    assert pact.state == PactState.SIGNED and pact.signed_version_number == version.number
    names = {s.party: s.name for s in version.signatures}
    assert names == {"citizens": "Carla Citizen", "city": "Olga Official"}
    assert all(s.signed_at.tzinfo for s in version.signatures)
    assert pact.ends_on == add_months(pact.starts_on, 12)


def test_signing_an_old_version_is_refused(world):
    pact = world.walk(world.propose(), PactState.APPROVED)
    with pytest.raises(Invalid, match="Only the latest version"):
        signing.sign(pact, "citizens", actor=world.citizen, version_number=1)


def test_a_signed_version_never_changes(world):
    pact = world.walk(world.propose(), PactState.ACTIVE)
    signed = pact.signed_version
    signed.clauses = {**signed.clauses, "objectives": "Something else entirely"}
    with pytest.raises(NotAllowed, match="signed version cannot be changed"):
        db.session.flush()
    db.session.rollback()
    fresh = db.session.execute(select(PactVersion).where(PactVersion.id == signed.id)).scalar_one()
    assert fresh.clauses == FULL_CLAUSES


@pytest.mark.parametrize("state", [PactState.APPROVED, PactState.COMPLETED, PactState.REJECTED])
def test_closed_or_approved_pacts_cannot_be_edited(world, state):
    pact = world.propose()
    if state == PactState.REJECTED:
        world.walk(pact, PactState.EVALUATION)
        lifecycle.reject(pact, "no", actor=world.official)
    elif state == PactState.COMPLETED:
        world.walk(pact, PactState.ACTIVE)
        lifecycle.complete(pact, actor=world.official)
    else:
        world.walk(pact, state)
    with pytest.raises(InvalidTransition, match="cannot be edited"):
        signing.save_version(pact, {**FULL_CLAUSES, "objectives": "new"}, actor=world.official)


def test_an_amendment_is_a_new_version_signed_again(world):
    pact = world.walk(world.propose(), PactState.ACTIVE)
    first = pact.signed_version
    amendment = signing.save_version(pact, {**FULL_CLAUSES, "city_support": "Also a water tank."},
                                     actor=world.official, note="Water tank")
    assert amendment.number == first.number + 1
    assert pact.signed_version_number == first.number  # still in force until both sign
    with pytest.raises(NotAllowed, match="Only the proposer and the city"):
        signing.save_version(pact, FULL_CLAUSES, actor=world.other)
    signing.sign(pact, "city", actor=world.official)
    assert pact.signed_version_number == first.number
    signing.sign(pact, "citizens", actor=world.citizen)
    assert pact.signed_version_number == amendment.number and pact.state == PactState.ACTIVE
    assert first.clauses == FULL_CLAUSES
    with pytest.raises(Invalid, match="already signed by both"):
        signing.sign(pact, "city", actor=world.official)


def test_two_versions_compare_side_by_side(world):
    pact = world.walk(world.propose(), PactState.CO_DESIGN)
    v1, v2 = pact.versions[0], pact.versions[-1]
    diff = {d.key: d for d in signing.compare_versions(v1, v2)}
    assert set(diff) == set(CLAUSES)
    assert diff["objectives"].changed
    assert diff["objectives"].rows == [("replace", "Plant and water the flowerbeds.", "Objectives: agreed text.")]
    assert diff["disputes"].rows == [("insert", "", "Disputes: agreed text.")]
    same = signing.compare_versions(v2, v2)
    assert not any(d.changed for d in same)


def test_nothing_changed_is_not_a_new_version(world):
    pact = world.walk(world.propose(), PactState.CO_DESIGN)
    with pytest.raises(Invalid, match="Nothing changed"):
        signing.save_version(pact, FULL_CLAUSES, actor=world.citizen)
