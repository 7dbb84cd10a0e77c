"""Factories for the councils tests: an official, a council, seated members."""
from datetime import date, datetime, timezone

import pytest

from app.accounts.models import Role
from app.i18n import city_today
from councils import chairs, meetings
from councils import operations as councils
from councils.seats import seat_member


@pytest.fixture
def official(make_user):
    return make_user(Role.OFFICIAL, name="Olga Official")


@pytest.fixture
def make_council(official):
    counter = iter(range(1, 100_000))

    def make(seats=2, start=date(2020, 1, 1), first="government", **fields):
        n = next(counter)
        return councils.create_council(fields.pop("slug", f"council-{n}"), fields.pop("name", f"Council {n}"),
                                       seats_per_side=seats, first_term_start=start, first_chair_side=first,
                                       actor=official, **fields)
    return make


@pytest.fixture
def full_council(make_council, make_user, official):
    """A council of 2 + 2 seats, all held since its first term began, with the
    first term's Chair (government) and Vice-Chair (civil) named."""
    def make(seats=2, start=date(2020, 1, 1), first="government", **fields):
        council = make_council(seats=seats, start=start, first=first, **fields)
        members = {}
        for side in ("government", "civil"):
            members[side] = [seat_member(council, make_user(Role.CITIZEN, name=f"{side.title()} {i}"), side,
                                         actor=official, on=start) for i in range(1, seats + 1)]
        return council, members
    return make


# A moment before every meeting the tests hold: meetings dated in the past are convened as of then.
CONVENED = datetime(2019, 1, 1, tzinfo=timezone.utc)


def at(day: date, hour: int = 18) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


@pytest.fixture
def running_meeting(full_council, official):
    """A council in its current term (started 5 years ago) with Chair and Vice-Chair, and
    a meeting today with everyone present."""
    start = city_today().replace(year=city_today().year - 5)
    council, members = full_council(start=start)
    chair = chairs.appoint(council, "chair", members["government"][0], actor=official)
    chairs.appoint(council, "vice_chair", members["civil"][0], actor=official)
    meeting = meetings.schedule_meeting(council, "Today's session", at(city_today(), 10), actor=official, now=CONVENED,
                                        agenda=["Priorities"])
    meetings.record_attendance(meeting, [m.id for side in members.values() for m in side], actor=chair.mandate.user)
    return council, members, meeting


@pytest.fixture(autouse=True)
def request_context(app):
    """Messages are lazy translations: reading them needs a request (English here)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield
