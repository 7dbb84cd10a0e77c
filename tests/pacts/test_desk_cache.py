"""The officials' desk shares its rendered lists among officials (app/pagecache.py,
shared_content): a pact operation shows on the very next request, the copy never
reaches a non-official, each language has its own, and the page around it (the
official's name, CSRF tokens, messages) is each official's own."""
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from app.accounts import operations as accounts
from app.accounts.models import Role
from app.extensions import db
from app.pagecache import FOLDER
from pacts import lifecycle, reports
from pacts.models import PactState

from ..conftest import CSRF_META, login, post_form


@pytest.fixture
def cached(app):
    app.config["PROCOMUN_SHARED_CONTENT_CACHE_SECONDS"] = 30
    return app


def signed_in(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def _csrf(html: str) -> str:
    return CSRF_META.search(html).group(1)


def test_the_second_official_gets_the_shared_lists_with_their_own_header(cached, world, make_user):
    world.walk(world.propose(title="Benches for the square"), PactState.SUBMITTED)
    first = signed_in(cached, world.official).get("/pacts/desk")
    assert first.status_code == 200 and first.headers["X-Page-Cache"] == "content miss"
    other = make_user(Role.OFFICIAL, name="Otto Other")
    second = signed_in(cached, other).get("/pacts/desk")
    html = second.get_data(as_text=True)
    assert second.headers["X-Page-Cache"] == "content hit" and "Benches for the square" in html
    assert "Otto Other" in html and "Olga Official" not in html
    assert "no-store" in second.headers["Cache-Control"]  # a signed-in page: no proxy or browser keeps it


def test_a_new_proposal_shows_at_once(cached, world):
    world.walk(world.propose(title="First file"), PactState.SUBMITTED)
    desk = signed_in(cached, world.official)
    desk.get("/pacts/desk")
    assert desk.get("/pacts/desk").headers["X-Page-Cache"] == "content hit"
    world.walk(world.propose(title="Second file"), PactState.SUBMITTED)
    page = desk.get("/pacts/desk")
    assert page.headers["X-Page-Cache"] == "content miss" and "Second file" in page.get_data(as_text=True)


def test_the_officials_own_decision_shows_on_the_desk_they_return_to(cached, world):
    pact = world.walk(world.propose(title="Benches for the square", track="ordinary"), PactState.SUBMITTED)
    desk = signed_in(cached, world.official)
    assert "Submitted" in desk.get("/pacts/desk").get_data(as_text=True)
    assert desk.get("/pacts/desk").headers["X-Page-Cache"] == "content hit"
    assert post_form(desk, f"/pacts/{pact.id}/decide/open_consultation").status_code == 302
    html = desk.get("/pacts/desk").get_data(as_text=True)
    row = re.search(r"Benches for the square</a></td>\s*<td>([^<]+)</td>", html).group(1)
    assert row == "In public consultation"


def test_a_filed_report_leaves_the_overdue_list_at_once(cached, world):
    pact = world.walk(world.propose(title="Late reporter", duration_months=36, report_every_months=6),
                      PactState.ACTIVE)
    pact.starts_on, pact.ends_on = date.today() - timedelta(days=400), date.today() + timedelta(days=700)
    db.session.commit()
    desk = signed_in(cached, world.official)
    assert "Late reporter" in desk.get("/pacts/desk").get_data(as_text=True).split("Overdue reports")[1]
    assert desk.get("/pacts/desk").headers["X-Page-Cache"] == "content hit"
    for due in reports.overdue_reports(pact):
        reports.file_report(pact, due.due_on, actor=world.citizen, activities="Weeded the flowerbeds")
    after = desk.get("/pacts/desk")
    assert after.headers["X-Page-Cache"] == "content miss"
    assert "Late reporter" not in after.get_data(as_text=True).split("Overdue reports")[1]


def test_a_proposers_new_name_shows_but_a_sign_in_does_not_rebuild(cached, world):
    world.walk(world.propose(title="Benches for the square"), PactState.SUBMITTED)
    desk = signed_in(cached, world.official)
    assert world.citizen.name in desk.get("/pacts/desk").get_data(as_text=True)
    signed_in(cached, world.citizen)  # signing in writes the user row, not the name the desk shows
    assert desk.get("/pacts/desk").headers["X-Page-Cache"] == "content hit"
    accounts.update_profile(world.citizen, "Carla Renamed", None)
    page = desk.get("/pacts/desk")
    assert page.headers["X-Page-Cache"] == "content miss" and "Carla Renamed" in page.get_data(as_text=True)


def test_no_non_official_ever_gets_the_copy(cached, world, client_as):
    world.walk(world.propose(title="Benches for the square"), PactState.SUBMITTED)
    signed_in(cached, world.official).get("/pacts/desk")  # the copy is stored
    anonymous = cached.test_client().get("/pacts/desk")
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]
    for roles in ((Role.CITIZEN,), (Role.ORG_MEMBER, Role.CITIZEN), (Role.COUNCIL_MEMBER, Role.CITIZEN)):
        answer = client_as(*roles).get("/pacts/desk")
        assert answer.status_code == 403 and "Benches for the square" not in answer.get_data(as_text=True)


def test_an_official_who_loses_the_role_loses_the_desk_at_once(cached, world, make_user):
    official = make_user(Role.OFFICIAL)
    desk = signed_in(cached, official)
    assert desk.get("/pacts/desk").status_code == 200
    accounts.set_roles(official, [Role.CITIZEN], [], actor=make_user(Role.ADMIN))
    assert desk.get("/pacts/desk").status_code == 403


def test_each_language_has_its_own_copy(cached, world, make_user):
    world.walk(world.propose(title="Benches for the square"), PactState.SUBMITTED)
    english = signed_in(cached, world.official).get("/pacts/desk")
    spanish_official = make_user(Role.OFFICIAL, locale="es")
    spanish = signed_in(cached, spanish_official).get("/pacts/desk")
    assert english.headers["X-Page-Cache"] == "content miss" and spanish.headers["X-Page-Cache"] == "content miss"
    assert "Overdue reports" in english.get_data(as_text=True)
    html = spanish.get_data(as_text=True)
    assert '<html lang="es">' in html and "Overdue reports" not in html
    again = signed_in(cached, world.official).get("/pacts/desk")
    assert again.headers["X-Page-Cache"] == "content hit" and "Overdue reports" in again.get_data(as_text=True)


def test_pages_of_the_desk_are_kept_apart(cached, world):
    desk = signed_in(cached, world.official)
    desk.get("/pacts/desk")
    assert desk.get("/pacts/desk?page=2").headers["X-Page-Cache"] == "content miss"


def test_each_official_gets_a_working_csrf_token_from_a_shared_copy(cached, world, make_user):
    first, second = signed_in(cached, world.official), signed_in(cached, make_user(Role.OFFICIAL))
    token_one = _csrf(first.get("/pacts/desk").get_data(as_text=True))
    page = second.get("/pacts/desk")
    token_two = _csrf(page.get_data(as_text=True))
    assert page.headers["X-Page-Cache"] == "content hit" and token_one != token_two
    assert second.post("/locale", data={"csrf_token": token_two, "locale": "ca", "next": "/pacts/desk"}
                       ).status_code == 302
    assert '<html lang="ca">' in second.get("/pacts/desk").get_data(as_text=True)


def test_flashed_messages_are_the_officials_own(cached, world, make_user):
    desk = signed_in(cached, world.official)
    desk.get("/pacts/desk")
    with desk.session_transaction() as session:
        session["_flashes"] = [("info", "Just for Olga")]
    assert "Just for Olga" in desk.get("/pacts/desk").get_data(as_text=True)
    other = signed_in(cached, make_user(Role.OFFICIAL)).get("/pacts/desk")
    assert other.headers["X-Page-Cache"] == "content hit" and "Just for Olga" not in other.get_data(as_text=True)


def test_the_next_day_gets_its_own_copy(cached, world, monkeypatch):
    """An answer due today is overdue tomorrow: the day is part of what a copy is kept under."""
    pact = world.propose(title="Due soon")
    lifecycle.submit(pact, actor=world.citizen)
    desk = signed_in(cached, world.official)
    assert 'class="overdue"' not in desk.get("/pacts/desk").get_data(as_text=True)
    later = pact.answer_due + timedelta(days=1)
    monkeypatch.setattr("pacts.views.city_today", lambda: later)
    page = desk.get("/pacts/desk")
    assert page.headers["X-Page-Cache"] == "content miss" and 'class="overdue"' in page.get_data(as_text=True)


def test_without_a_cache_period_the_desk_is_always_rendered(app, world):
    assert app.config["PROCOMUN_SHARED_CONTENT_CACHE_SECONDS"] == 0  # tests and development
    world.walk(world.propose(title="Benches for the square"), PactState.SUBMITTED)
    assert "X-Page-Cache" not in signed_in(app, world.official).get("/pacts/desk").headers
    assert not (Path(app.instance_path) / FOLDER).exists()
