"""The officials' desk is kept whole for the session it was given to (app/pagecache.py,
personal_page): served again without rendering while nothing it shows has changed, and
never once the user, their rights, their notifications, the session or the data differ."""

import pytest

from app.accounts import operations as accounts
from app.accounts.models import Role, User
from app.extensions import db
from app.notifications.models import Notification, OutboxEvent
from pacts.models import PactState

from ..conftest import CSRF_META, login, statements_run


@pytest.fixture
def kept(app):
    app.config["PROCOMUN_SHARED_CONTENT_CACHE_SECONDS"] = 30
    app.config["PROCOMUN_PERSONAL_PAGE_CACHE_SECONDS"] = 30
    return app


def signed_in(app, user):
    client = app.test_client()
    login(client, user.email)
    client.get("/")  # the session gets its CSRF secret, as a browser's first page gives it
    return client


def _csrf(html: str) -> str:
    return CSRF_META.search(html).group(1)


def test_the_same_session_gets_the_same_page_again_without_a_render(kept, world):
    world.walk(world.propose(title="Benches for the square"), PactState.SUBMITTED)
    desk = signed_in(kept, world.official)
    first = desk.get("/pacts/desk")
    assert first.headers["X-Page-Cache"] == "content miss"
    with statements_run() as seen:
        again = desk.get("/pacts/desk")
    assert again.headers["X-Page-Cache"] == "page hit"
    statements = [sql for sql in seen if sql != "BEGIN"]  # SQLite's transaction, opened by us
    assert len(statements) == 1, statements  # the session's identity check alone: no user loaded
    assert again.get_data(as_text=True) == first.get_data(as_text=True)
    assert "no-store" in again.headers["Cache-Control"] and "Cookie" in again.headers["Vary"]
    # Its CSRF tokens are the session's own: a form on the kept page still works.
    token = _csrf(again.get_data(as_text=True))
    assert desk.post("/locale", data={"csrf_token": token, "locale": "it", "next": "/pacts/desk"}).status_code == 302
    italian = desk.get("/pacts/desk")
    assert italian.headers["X-Page-Cache"] != "page hit" and '<html lang="it">' in italian.get_data(as_text=True)


def test_another_session_of_the_same_official_gets_its_own_copy(kept, world):
    first, second = signed_in(kept, world.official), signed_in(kept, world.official)
    first.get("/pacts/desk")
    page = second.get("/pacts/desk")
    assert page.headers["X-Page-Cache"] != "page hit"
    assert _csrf(page.get_data(as_text=True)) != _csrf(first.get("/pacts/desk").get_data(as_text=True))


def test_a_pact_change_a_new_notification_or_a_new_name_is_shown_at_once(kept, world):
    desk = signed_in(kept, world.official)
    desk.get("/pacts/desk")
    assert desk.get("/pacts/desk").headers["X-Page-Cache"] == "page hit"
    world.walk(world.propose(title="A new file"), PactState.SUBMITTED)
    page = desk.get("/pacts/desk")
    assert page.headers["X-Page-Cache"] != "page hit" and "A new file" in page.get_data(as_text=True)
    assert desk.get("/pacts/desk").headers["X-Page-Cache"] == "page hit"
    event = OutboxEvent(kind="pact.submitted", subject_type="pact", subject_id=1)
    db.session.add(event)
    db.session.flush()
    db.session.add(Notification(user_id=world.official.id, event_id=event.id, mode="immediate"))
    db.session.commit()
    page = desk.get("/pacts/desk")
    assert page.headers["X-Page-Cache"] != "page hit" and '<span class="count"' in page.get_data(as_text=True)
    accounts.update_profile(db.session.get(User, world.official.id), "Olga Renamed", None)
    page = desk.get("/pacts/desk")
    assert page.headers["X-Page-Cache"] != "page hit" and "Olga Renamed" in page.get_data(as_text=True)


def test_a_lost_role_a_deactivated_account_or_a_sign_out_everywhere_ends_it_at_once(kept, world, make_user):
    admin = make_user(Role.ADMIN)
    for change in ("role", "deactivate", "sign out everywhere"):
        official = make_user(Role.OFFICIAL)
        desk = signed_in(kept, official)
        desk.get("/pacts/desk")
        assert desk.get("/pacts/desk").headers["X-Page-Cache"] == "page hit"
        user = db.session.get(User, official.id)
        if change == "role":
            accounts.set_roles(user, [Role.CITIZEN], [], actor=admin)
            assert desk.get("/pacts/desk").status_code == 403
        else:
            if change == "deactivate":
                user.active = False
            else:
                user.auth_version += 1
            db.session.commit()
            answer = desk.get("/pacts/desk")
            assert answer.status_code == 302 and "/account/login" in answer.headers["Location"]


def test_a_page_with_a_message_is_neither_served_from_nor_kept(kept, world):
    desk = signed_in(kept, world.official)
    desk.get("/pacts/desk")
    with desk.session_transaction() as session:
        session["_flashes"] = [("info", "Just for Olga")]
    page = desk.get("/pacts/desk")
    assert page.headers["X-Page-Cache"] != "page hit" and "Just for Olga" in page.get_data(as_text=True)
    assert "Just for Olga" not in desk.get("/pacts/desk").get_data(as_text=True)


def test_no_one_else_ever_gets_it(kept, world, client_as):
    world.walk(world.propose(title="Benches for the square"), PactState.SUBMITTED)
    desk = signed_in(kept, world.official)
    desk.get("/pacts/desk")
    assert kept.test_client().get("/pacts/desk").status_code == 302
    for roles in ((Role.CITIZEN,), (Role.ORG_MEMBER, Role.CITIZEN), (Role.COUNCIL_MEMBER, Role.CITIZEN)):
        answer = client_as(*roles).get("/pacts/desk")
        assert answer.status_code == 403 and "Benches for the square" not in answer.get_data(as_text=True)


def test_off_unless_configured(app, world):
    assert app.config["PROCOMUN_PERSONAL_PAGE_CACHE_SECONDS"] == 0  # tests and development
    desk = signed_in(app, world.official)
    desk.get("/pacts/desk")
    assert "X-Page-Cache" not in desk.get("/pacts/desk").headers


def test_it_serves_only_the_roles_the_view_itself_declares():
    from app.pagecache import personal_page
    from app.security import login_required, public
    from pacts.views import desk
    assert desk.access.roles == {Role.OFFICIAL, Role.ADMIN}  # read by personal_page from @officials
    for bare in (lambda: "", public(lambda: ""), login_required(lambda: "")):
        with pytest.raises(TypeError):
            personal_page("pacts-desk")(bare)
