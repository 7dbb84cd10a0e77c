"""Deadlines: overdue steps listed in public and in open data, escalated once per step and person
to the responsible official and their department's head; how long the city takes."""
from sqlalchemy import select

from accountability import deadlines
from app.accounts.models import Role
from app.extensions import db
from app.notifications.models import OutboxEvent
from app.notifications.reminders import send_reminders
from app.organisations import operations as organisations
from procurement import tenders

from ..procurement.conftest import pass_deadline
from ..procurement.test_priority_needs import adopt_need


def escalations():
    return db.session.execute(select(OutboxEvent).where(OutboxEvent.kind == "accountability.step_overdue")
                              .order_by(OutboxEvent.id)).scalars().all()


def test_an_unanswered_need_and_a_tender_past_its_deadline_are_overdue(client, city, make_user, make_category):
    need = adopt_need(make_user, make_category, city.official)   # adopted in 2024, never answered
    process = city.process("tender")
    pass_deadline(process)
    steps = {s.step: s for s in deadlines.overdue()}
    assert set(steps) == {"need_answer", "tender_deadline"}
    assert steps["need_answer"].subject == f"need-{need.id}"
    page = client.get("/accountability/overdue").get_data(as_text=True)
    assert need.title in page and process.title in page
    body = client.get("/open-data/overdue.json").get_json()
    assert {o["step"] for o in body["overdue"]} == {"need_answer", "tender_deadline"}
    assert all(o["days_overdue"] > 0 for o in body["overdue"])
    page = client.get(f"/councils/needs/{need.id}", headers={"Accept-Language": "it"}).get_data(as_text=True)
    assert "giorni di ritardo" in page


def test_an_answered_need_is_not_overdue_and_its_answer_time_is_counted(client, city, make_user, make_category):
    need = adopt_need(make_user, make_category, city.official)
    tenders.create_process(actor=city.official, title="Home care", department=city.department,
                           budget_cents=1_000, priority_need_id=need.id)
    assert [s.step for s in deadlines.overdue()] == []
    [row] = deadlines.statistics()
    assert row["step"] == "need_answer" and row["count"] == 1 and row["median"] == row["p90"] > 0
    page = client.get("/accountability/statistics", headers={"Accept-Language": "ca"}).get_data(as_text=True)
    assert "<svg" in page and "Mediana de dies" in page


def test_overdue_steps_are_escalated_once_per_step_and_person(city, make_user, make_category):
    head = make_user(Role.OFFICIAL, name="Head of Social Services")
    organisations.set_department_head(city.department, head.email, actor=city.official)
    adopt_need(make_user, make_category, city.official)
    process = city.process("tender")
    pass_deadline(process)
    send_reminders()
    sent = escalations()
    # The tender's official and the department's head; the need's answer to the head (the city's heads).
    people = sorted((e.context["step"], tuple(e.recipients)) for e in sent)
    assert people == sorted([("tender_deadline", (city.official.id,)), ("tender_deadline", (head.id,)),
                             ("need_answer", (head.id,))])
    send_reminders()
    assert len(escalations()) == 3


def test_quantiles():
    assert deadlines.quantile([1, 2, 3, 4, 100], 0.5) == 3
    assert deadlines.quantile([10] * 9 + [100], 0.9) == 19.0
    assert deadlines.quantile([], 0.5) == 0
