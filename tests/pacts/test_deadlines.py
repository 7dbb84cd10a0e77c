"""The office's answer deadline and the report schedule: calendar arithmetic
across month ends, leap years and the city's time zone."""
from datetime import date, datetime, timezone

import pytest

from app.dates import add_months
from app.i18n import city_today
from pacts import lifecycle, register, reports
from pacts.models import PactState


@pytest.mark.parametrize("submitted_utc, zone, due", [
    # 45 days from 31 January runs through a 28-day February.
    (datetime(2027, 1, 31, 10, 0, tzinfo=timezone.utc), "Europe/Rome", date(2027, 3, 17)),
    # ... and through a 29-day one in a leap year.
    (datetime(2028, 1, 31, 10, 0, tzinfo=timezone.utc), "Europe/Rome", date(2028, 3, 16)),
    # 23:30 UTC on 31 January is already 1 February in Rome: that is the day of submission.
    (datetime(2027, 1, 31, 23, 30, tzinfo=timezone.utc), "Europe/Rome", date(2027, 3, 18)),
    # ... but still 31 January in Bogotá.
    (datetime(2027, 1, 31, 23, 30, tzinfo=timezone.utc), "America/Bogota", date(2027, 3, 17)),
    # Across the year end and a summer-time change.
    (datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc), "Europe/Rome", date(2027, 2, 15)),
    (datetime(2027, 3, 27, 23, 30, tzinfo=timezone.utc), "Europe/Madrid", date(2027, 5, 12)),
])
def test_answer_deadline_counts_calendar_days_from_the_city_day_of_submission(app, submitted_utc, zone, due):
    app.config["PROCOMUN_TIMEZONE"] = zone
    assert lifecycle.answer_due_for(submitted_utc) == due


def test_answer_deadline_is_a_setting(app):
    app.config["PACTS_ANSWER_DAYS"] = 30
    assert lifecycle.answer_due_for(datetime(2027, 2, 1, 9, tzinfo=timezone.utc)) == date(2027, 3, 3)


@pytest.mark.parametrize("start, months, expected", [
    (date(2027, 1, 31), 1, date(2027, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2027, 8, 31), 6, date(2028, 2, 29)),
    (date(2027, 11, 30), 3, date(2028, 2, 29)),
    (date(2027, 12, 15), 1, date(2028, 1, 15)),
])
def test_months_are_added_to_the_last_day_of_shorter_months(start, months, expected):
    assert add_months(start, months) == expected


def test_submission_sets_the_deadline_and_the_dashboard_flags_overdue_files(world):
    late = world.propose(title="Late file")
    lifecycle.submit(late, actor=world.citizen, now=datetime(2020, 1, 31, 23, 30, tzinfo=timezone.utc))
    assert late.answer_due == date(2020, 3, 17)  # 1 Feb in Rome + 45 days, leap year
    fresh = world.walk(world.propose(title="Fresh file"), PactState.SUBMITTED)
    answered = world.walk(world.propose(title="Answered"), PactState.APPROVED)
    files = register.awaiting_answer().items
    assert [p.title for p in files] == ["Late file", "Fresh file"]
    assert lifecycle.is_overdue(late) and not lifecycle.is_overdue(fresh) and not lifecycle.is_overdue(answered)


def test_report_schedule_flags_overdue_reports(world):
    pact = world.walk(world.propose(duration_months=12, report_every_months=5), PactState.ACTIVE)
    pact.starts_on, pact.ends_on = date(2027, 1, 31), date(2028, 1, 31)
    schedule = reports.report_schedule(pact, today=date(2027, 9, 1))
    assert [s.due_on for s in schedule] == [date(2027, 6, 30), date(2027, 11, 30), date(2028, 1, 31)]
    assert [s.overdue for s in schedule] == [True, False, False]
    assert len(reports.overdue_reports(pact, today=date(2027, 9, 1))) == 1
    assert reports.report_schedule(pact, today=city_today())
