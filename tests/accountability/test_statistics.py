"""How long the city takes: every regulated step with a due date counted per year, the median and
the 90th percentile of days (PostgreSQL's percentile_cont, SQLite's rows counted in Python: the
same figures), on a page in the four languages."""
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from accountability import deadlines
from app.database import transaction
from app.extensions import db
from pacts.models import PactEvent, PactState, Report

from ..pacts.conftest import World
from ..procurement.test_priority_needs import adopt_need


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)


def test_every_regulated_step_is_counted_per_year(client, city, make_user, make_category):
    need = adopt_need(make_user, make_category, city.official)        # adopted on 1 March 2024
    process = city.process("award")
    world = World(make_user)
    pact = world.walk(world.propose(), PactState.ACTIVE)
    with transaction():
        process.priority_need_id = need.id
        process.created_at = at(date(2024, 4, 10))                     # the need answered in 40 days
        process.bid_deadline, process.award.decided_on = date(2025, 5, 1), date(2025, 5, 11)   # 10 days
        pact.submitted_at = at(date(2025, 1, 1))
        moments = {PactState.CONSULTATION: date(2025, 1, 5), PactState.EVALUATION: date(2025, 2, 4),
                   PactState.APPROVED: date(2025, 3, 2)}               # consultation 30 days, answer in 60
        for event in db.session.execute(select(PactEvent).where(PactEvent.pact_id == pact.id)).scalars():
            event.at = at(moments.get(PactState(event.to_state), date(2025, 2, 20)))
        for month, late in enumerate((0, 2, 4, 6, 30, -3), start=1):     # reports: early counts as on time
            due = date(2025, month, 1)
            db.session.add(Report(pact_id=pact.id, due_on=due, activities="Watered", author_id=world.citizen.id,
                                  submitted_at=at(due + timedelta(days=late))))
    rows = {(r["step"], r["year"]): (r["count"], r["median"], r["p90"]) for r in deadlines.statistics()}
    assert rows == {("need_answer", 2024): (1, 40, 40), ("tender_deadline", 2025): (1, 10, 10),
                    ("pact_evaluation", 2025): (1, 60, 60), ("consultation_end", 2025): (1, 30, 30),
                    ("pact_report", 2025): (6, 3, 18.0)}
    for language, words in (("en", ("A pact's report", "Median days")), ("es", ("Mediana de días",)),
                            ("it", ("Giorni (mediana)",)), ("ca", ("Mediana de dies",))):
        page = client.get("/accountability/statistics", headers={"Accept-Language": language}).get_data(as_text=True)
        assert page.count("<svg") >= 5 and all(w in page for w in words), language
