"""The public register costs the same number of SQL statements however many pacts
it holds (the bench's pages-at-scale check), and its year filter lists the right years."""
import io
import re
from datetime import datetime, timezone

from flask import before_render_template, template_rendered
from jinja2 import Template
from sqlalchemy import event

from app.extensions import db
from pacts import attachments, commons_register, disputes, lifecycle, proposals, register, reports, signing
from pacts.models import PactState

from ..conftest import login, statements_run
from .conftest import FULL_CLAUSES
from .test_reports_disputes import PNG


def _statements(client, url) -> int:
    with statements_run() as seen:
        assert client.get(url).status_code == 200
    return len(seen)


def test_register_page_statements_do_not_grow_with_the_register(world, client):
    world.walk(world.propose(), PactState.SUBMITTED)
    client.get("/pacts/")  # warm: first-use queries
    few = _statements(client, "/pacts/")
    for n in range(4):
        world.walk(world.propose(title=f"Pact {n}"), PactState.SUBMITTED)
    assert _statements(client, "/pacts/") == few


def test_register_years_are_the_submission_years_in_the_city(world):
    assert register.register_years() == []
    first, second, third = (world.walk(world.propose(title=t), PactState.SUBMITTED) for t in "abc")
    # 23:30 UTC on 31 December 2023 is already 2024 in the city (Europe/Rome).
    first.submitted_at = datetime(2023, 12, 31, 23, 30, tzinfo=timezone.utc)
    second.submitted_at = datetime(2021, 6, 1, 12, 0, tzinfo=timezone.utc)
    db.session.commit()
    this_year = lifecycle.city_date(third.submitted_at).year
    assert register.register_years() == sorted({this_year, 2024, 2021}, reverse=True)
    assert 2022 not in register.register_years() and 2023 not in register.register_years()


def test_commons_choices_are_every_commons_by_name(world):
    commons_register.save_commons(actor=world.official, name="Archivio", kind="building", neighbourhood="Navile")
    assert [(c.name, c.registered) for c in commons_register.commons_choices()] == [
        ("Archivio", True), ("Piazza Verdi", True)]


def test_late_reports_lists_exactly_the_pacts_in_force_with_overdue_reports(world):
    from datetime import date
    late = world.walk(world.propose(title="Late", duration_months=12, report_every_months=5), PactState.ACTIVE)
    late.starts_on, late.ends_on = date(2027, 1, 31), date(2028, 1, 31)
    # Due 30 June 2027: on 1 July it is late; on 30 June (the due day itself) it is not yet.
    fresh = world.walk(world.propose(title="Fresh", duration_months=12, report_every_months=5), PactState.ACTIVE)
    fresh.starts_on, fresh.ends_on = date(2027, 3, 1), date(2028, 3, 1)
    db.session.commit()
    found = reports.late_reports(today=date(2027, 7, 1))
    assert [(p.title, [s.due_on for s in late_]) for p, late_ in found] == [("Late", [date(2027, 6, 30)])]
    assert reports.late_reports(today=date(2027, 6, 30)) == []
    # Both late later on; the list stops at the limit, oldest pact first.
    assert [p.title for p, _ in reports.late_reports(today=date(2027, 9, 1))] == ["Late", "Fresh"]
    assert [p.title for p, _ in reports.late_reports(today=date(2027, 9, 1), limit=1)] == ["Late"]


def test_desk_statements_do_not_grow_with_the_pacts_in_force(app, world):
    from .test_views import signed_in
    world.walk(world.propose(title="First"), PactState.ACTIVE)
    client = signed_in(app, world.official)
    client.get("/pacts/desk")
    few = _statements(client, "/pacts/desk")
    for n in range(3):
        world.walk(world.propose(title=f"Pact {n}"), PactState.ACTIVE)
    assert _statements(client, "/pacts/desk") == few


def test_register_pages_count_at_most_fifty_pages_and_keep_their_numbers(world, client):
    for n in range(7):
        world.walk(world.propose(title=f"Pact {n}"), PactState.SUBMITTED)
    # Counted exactly while the register is under the cap…
    page = register.search_pacts(per_page=2, page=1)
    assert (page.total, page.pages, page.capped, page.has_next, page.has_prev) == (7, 4, False, True, False)
    last = register.search_pacts(per_page=2, page=4)
    assert len(last.items) == 1 and not last.has_next and last.prev_num == 3
    # …and beyond the cap the count stops ("more than"), the pages still go on.
    from sqlalchemy import select

    from app.paging import capped_page
    from pacts.models import Pact
    stmt = select(Pact).where(Pact.state != PactState.DRAFT).order_by(Pact.submitted_at.desc(), Pact.id.desc())
    capped = capped_page(stmt, page=1, per_page=2, max_pages=2)
    assert (capped.total, capped.pages, capped.capped, capped.has_next) == (4, 2, True, True)
    deep = capped_page(stmt, page=3, per_page=2, max_pages=2)
    assert len(deep.items) == 2 and deep.has_next and deep.pages == 3
    every = [p.id for n in range(1, 5) for p in capped_page(stmt, page=n, per_page=2, max_pages=2).items]
    assert len(every) == len(set(every)) == 7  # each pact on exactly one page
    assert capped_page(stmt, page=0, per_page=2).page == 1


def test_page_links_say_more_than_when_the_count_is_capped(app):
    from flask import render_template_string

    from app.paging import CappedPage
    template = '{% from "_macros.html" import pagination %}{{ pagination(page, "pacts.index", state="active") }}'
    with app.test_request_context("/pacts/?page=3", headers={"Accept-Language": "es"}):
        capped = render_template_string(template, page=CappedPage(items=[1] * 20, page=3, per_page=20, total=1000,
                                                                  capped=True, has_next=True))
        exact = render_template_string(template, page=CappedPage(items=[1] * 20, page=3, per_page=20, total=60,
                                                                 capped=False, has_next=False))
    assert "Página 3 de más de 50" in capped and 'rel="next"' in capped and "page=4" in capped
    assert "state=active" in capped and "page=2" in capped
    assert "Página 3 de 3" in exact and 'rel="next"' not in exact


def test_desk_lists_files_waiting_closest_deadline_first_on_either_database(app, world):
    from datetime import date
    files = [world.walk(world.propose(title=f"File {n}"), PactState.SUBMITTED) for n in range(3)]
    active = world.walk(world.propose(title="In force"), PactState.ACTIVE)
    files[0].answer_due, files[1].answer_due, files[2].answer_due = date(2027, 3, 1), date(2027, 1, 1), date(2027, 2, 1)
    db.session.commit()
    page = register.awaiting_answer()
    assert [p.title for p in page.items] == ["File 1", "File 2", "File 0"] and active not in page.items
    assert (page.total, page.capped, page.pages) == (3, False, 1)


def test_pact_pdf_reads_its_pact_in_two_statements(world, client):
    # The page's comments, events, reports and disputes are not read for the document.
    pact = world.walk(world.propose(title="Signed pact"), PactState.ACTIVE)
    url = f"/pacts/{pact.id}/pact.pdf"
    client.get(url)  # warm
    with statements_run() as seen:
        assert client.get(url).status_code == 200
    assert len([s for s in seen if s.startswith("SELECT")]) == 2  # SQLite adds its BEGIN


def _rendering_statements(client, url, template) -> list[str]:
    """The SQL run while `template` renders, once its view has handed it the page's values."""
    seen, recording = [], []

    def start(sender, template: Template, **extra):
        if template.name == name:
            recording.append(True)

    def stop(sender, template: Template, **extra):
        if template.name == name:
            recording.clear()

    def listener(conn, cursor, statement, *rest):
        if recording:
            seen.append(statement)

    name = template
    with before_render_template.connected_to(start), template_rendered.connected_to(stop):
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    return seen


def test_the_pact_and_commons_pages_read_nothing_while_they_render(app, world):
    """Everything a file's page shows, and what its visitor may do there, is loaded and decided
    before the template renders: no query from the template, whoever looks at it. So too for the
    page of a commons, its photos and its pacts."""
    active = world.walk(world.propose(title="In force"), PactState.ACTIVE)
    reports.file_report(active, reports.report_schedule(active)[0].due_on, actor=world.citizen,
                        activities="Planted.", photo=(io.BytesIO(PNG), "image/png"))
    disputes.raise_dispute(active, "The tools did not arrive.", actor=world.citizen)
    signing.save_version(active, {**FULL_CLAUSES, "objectives": "Amended."}, actor=world.official)
    consulted = world.walk(world.propose(title="In consultation"), PactState.CONSULTATION)
    proposals.comment(consulted, "Count me in.", actor=world.other)
    proposals.support(consulted, actor=world.other)
    visitors = {"visitor": app.test_client()}
    for name, user in (("proposer", world.citizen), ("official", world.official), ("neighbour", world.other)):
        visitors[name] = app.test_client()
        login(visitors[name], user.email)
    pact_tables = re.compile(r"\b(pacts|pact_\w+|commons)\b")
    attachments.store_attachment(io.BytesIO(PNG), "image/png", "The square", actor=world.official,
                                 commons=world.commons)
    pages = [(f"/pacts/{active.id}", "pacts/show.html"), (f"/pacts/{consulted.id}", "pacts/show.html"),
             (f"/pacts/commons/{world.commons.id}", "pacts/commons_show.html")]
    for who, client in visitors.items():
        for url, template in pages:
            read = [sql for sql in _rendering_statements(client, url, template) if pact_tables.search(sql)]
            assert read == [], (who, url, read)
