"""Buttons only for the moves the rules allow now: a move refused on its merits (the consultation
not over, a clause not written, the pact's first day not come, every report filed) is shown
disabled with its reason and date, and the operation behind it refuses with the same words."""
import html
import re
from datetime import timedelta

import pytest

from app.errors import Invalid
from app.extensions import db
from app.i18n import city_today
from pacts import lifecycle, moves, reports, signing
from pacts.models import CLAUSES, Pact, PactState

from ..conftest import login, post_form
from .conftest import FULL_CLAUSES


def signed_in(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def disabled_button(page: str, label: str) -> str | None:
    """The reason printed beside the disabled button `label`, or None if there is no such button."""
    found = re.search(r'<button type="button" class="[^"]*" disabled aria-describedby="([^"]+)">'
                      + re.escape(label) + r'</button>\s*<p class="muted refused-reason" id="\1">([^<]*)</p>', page)
    return found and html.unescape(found.group(2))


def test_closing_the_consultation_early_is_shown_disabled_with_its_date_and_refused(app, world, make_user):
    pact = world.walk(world.propose(), PactState.CONSULTATION)
    ends = pact.consultation_ends
    official = signed_in(app, world.official)
    page = official.get(f"/pacts/{pact.id}").get_data(as_text=True)
    reason = disabled_button(page, "Close the consultation and evaluate")
    long_date = f"{ends:%B} {ends.day}, {ends.year}"
    assert reason == f"The public consultation runs until {long_date}; it cannot close earlier."
    assert f'action="/pacts/{pact.id}/decide/close_consultation"' not in page
    # The operation still refuses, with the same words, however the request comes.
    response = post_form(official, f"/pacts/{pact.id}/decide/close_consultation")
    assert response.status_code == 302
    assert db.session.get(Pact, pact.id).state == PactState.CONSULTATION
    assert "it cannot close earlier" in official.get(f"/pacts/{pact.id}").get_data(as_text=True)
    # In Italian the reason and its date are Italian.
    italian = signed_in(app, make_user(*world.official.roles, locale="it"))
    page = italian.get(f"/pacts/{pact.id}").get_data(as_text=True)
    assert re.search(r"refused-reason[^>]*>[^<]*consultazione[^<]*\d{1,2} \w+ \d{4}", page)
    # On its last day the button is a real one.
    row = db.session.get(Pact, pact.id)
    row.consultation_ends = city_today()
    db.session.commit()
    page = official.get(f"/pacts/{pact.id}").get_data(as_text=True)
    assert disabled_button(page, "Close the consultation and evaluate") is None
    assert f'action="/pacts/{pact.id}/decide/close_consultation"' in page


def test_approving_with_an_empty_clause_is_shown_disabled_and_refused(app, world):
    pact = world.walk(world.propose(), PactState.CONSULTATION)
    lifecycle.close_consultation(pact, actor=world.official, today=pact.consultation_ends)
    lifecycle.start_co_design(pact, actor=world.official)
    signing.save_version(pact, {**FULL_CLAUSES, "duration": ""}, actor=world.official)
    page = signed_in(app, world.official).get(f"/pacts/{pact.id}").get_data(as_text=True)
    reason = disabled_button(page, "Approve the pact for signing")
    assert reason and reason.startswith("These clauses are still empty: ") and str(CLAUSES["duration"]) in reason
    with pytest.raises(Invalid, match="still empty"):
        lifecycle.approve(pact, actor=world.official)
    assert pact.state == PactState.CO_DESIGN


def test_putting_a_pact_in_force_before_its_first_day_is_shown_disabled(app, world):
    pact = world.walk(world.propose(), PactState.SIGNED)
    pact.starts_on = city_today() + timedelta(days=10)
    db.session.commit()
    page = signed_in(app, world.official).get(f"/pacts/{pact.id}").get_data(as_text=True)
    reason = disabled_button(page, "Put the pact in force")
    assert reason and reason.startswith("The pact starts on ")
    with pytest.raises(Invalid, match="starts on"):
        lifecycle.activate(pact, actor=world.official)
    assert moves.move(pact, "activate", pact.starts_on).allowed


def test_filing_a_report_once_every_report_is_filed_is_shown_disabled(app, world):
    pact = world.walk(world.propose(duration_months=1, report_every_months=1), PactState.ACTIVE)
    due = reports.open_due_dates(pact)
    assert len(due) == 1
    citizen = signed_in(app, world.citizen)
    page = citizen.get(f"/pacts/{pact.id}").get_data(as_text=True)
    assert f'href="/pacts/{pact.id}/reports/new"' in page
    reports.file_report(pact, due[0], actor=world.citizen, activities="Weeded the beds.")
    page = citizen.get(f"/pacts/{pact.id}").get_data(as_text=True)
    assert disabled_button(page, "File a report") == "Every report of the pact's schedule is filed."
    with pytest.raises(Invalid, match="Every report"):
        reports.file_report(pact, due[0], actor=world.citizen, activities="Again.")
