"""Procurement plans a process for a need the joint council adopted, read
through the councils module's operations."""
from datetime import date, datetime, timezone

import pytest

from app.accounts.models import Role
from app.errors import Invalid
from councils import chairs, meetings, motions, needs, seats
from councils import operations as councils
from procurement import processes, tenders


def adopt_need(make_user, make_category, official, rationale="Ageing population", neighbourhood="Navile"):
    """A council of 1 + 1 whose meeting adopts an elder-care priority need."""
    council = councils.create_council("needs-council", "Social council", seats_per_side=1,
                                      first_term_start=date(2024, 1, 1), first_chair_side="government",
                                      actor=official)
    gov = seats.seat_member(council, make_user(Role.CITIZEN, name="Gov"), "government", actor=official,
                            on=date(2024, 1, 1))
    civ = seats.seat_member(council, make_user(Role.CITIZEN, name="Civ"), "civil", actor=official,
                            on=date(2024, 1, 1))
    chairs.appoint(council, "chair", gov, actor=official, on=date(2024, 1, 1))
    chairs.appoint(council, "vice_chair", civ, actor=official, on=date(2024, 1, 1))
    meeting = meetings.schedule_meeting(council, "Needs", datetime(2024, 3, 1, 17, tzinfo=timezone.utc),
                                        actor=official, agenda=["Priorities"],
                                        now=datetime(2024, 1, 1, tzinfo=timezone.utc))
    meetings.record_attendance(meeting, [gov.id, civ.id], actor=gov.user, today=meeting.on)
    motion = motions.propose_motion(meeting, "Elder care first", actor=gov.user,
                                    need_category=make_category("elder-care"), need_rank=1,
                                    need_rationale=rationale, need_neighbourhood=neighbourhood)
    motions.open_vote(motion, actor=gov.user)
    for mandate in (gov, civ):
        motions.cast_vote(motion, "yes", actor=mandate.user)
    motions.close_vote(motion, actor=gov.user)
    return needs.priority_needs(current_only=True)[0]


def test_a_process_is_linked_to_a_current_council_need(city, make_user, make_category, client_as):
    need = adopt_need(make_user, make_category, city.official)
    assert [n.id for n in processes.council_needs()] == [need.id]
    assert processes.council_needs(need.id).id == need.id
    process = tenders.create_process(actor=city.official, title="Home care for the elderly",
                                     department=city.department, budget_cents=5_000_000,
                                     priority_need_id=need.id)
    assert process.priority_need_id == need.id
    with pytest.raises(Invalid, match="priority need") as error:
        tenders.create_process(actor=city.official, title="Nothing", department=city.department,
                               budget_cents=1, priority_need_id=need.id + 1000)
    assert error.value.field == "priority_need"
    page = client_as(Role.OFFICIAL).get(f"/procurement/{process.id}").get_data(as_text=True)
    assert need.title in page and "Social council" in page
