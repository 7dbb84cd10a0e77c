"""The notification centre, preferences, follow and unsubscribe pages."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.notifications import operations as notes
from app.notifications.mail import unsubscribe_token
from app.notifications.models import Follow, Notification
from app.notifications.worker import drain

from ..conftest import post_form


def _suspension(org, actor=None):
    return notes.emit("accreditation.suspended", "organisation", org.id, actor=actor, organisation=org.name,
                      slug=org.slug, category="elder-care", category_names={"en": "Elder care"},
                      reason="Late report", valid_until="2030-01-01")


@pytest.fixture
def member(client_as):
    client = client_as("org_member")
    org = client.user.organisations[0]
    for _ in range(3):
        _suspension(org)
    drain()
    return client, org


def test_the_bell_counts_unread_and_the_list_marks_them_read(app, member, client_as):
    client, org = member
    page = client.get("/").get_data(as_text=True)
    assert '<span class="count"' in page and ">3</span>" in page
    listing = client.get("/notifications/").get_data(as_text=True)
    assert listing.count("has been suspended: Late report") == 3
    assert f'href="/organisations/{org.slug}"' in listing

    first = db.session.execute(select(Notification).where(Notification.user_id == client.user.id)
                               .order_by(Notification.id)).scalars().first()
    # Someone else's notification does not exist for you.
    stranger = client_as("citizen")
    assert post_form(stranger, f"/notifications/{first.id}/read").status_code == 404
    assert post_form(client, f"/notifications/{first.id}/read").status_code == 302
    assert notes.unread_count(client.user) == 2
    # The bell is read with the person (app/security.py:load_user), each request afresh.
    page = client.get("/").get_data(as_text=True)
    assert '<span class="count"' in page and ">2</span>" in page
    assert post_form(client, "/notifications/read").status_code == 302
    assert notes.unread_count(client.user) == 0
    assert '<span class="count"' not in client.get("/").get_data(as_text=True)


def test_the_bell_stops_counting_past_99(app, client_as):
    """Every signed-in page shows the bell: it counts up to 100 and says "99+", in every language."""
    from app.notifications.models import UNREAD_SHOWN
    from app.security import session_identity
    client = client_as("org_member")
    org = client.user.organisations[0]
    for _ in range(UNREAD_SHOWN + 3):
        _suspension(org)
    drain()
    assert notes.unread_count(client.user) == UNREAD_SHOWN + 1
    assert session_identity(f"{client.user.id}:{client.user.auth_version}").unread == UNREAD_SHOWN + 1
    page = client.get("/").get_data(as_text=True)
    assert '<span class="count" title="More than 99 unread">99+</span>' in page
    assert post_form(client, "/locale", {"locale": "ca", "next": "/"}).status_code == 302
    assert 'title="Més de 99 sense llegir">99+</span>' in client.get("/").get_data(as_text=True)
    assert post_form(client, "/notifications/read").status_code == 302
    assert '<span class="count"' not in client.get("/").get_data(as_text=True)


def test_preferences_are_saved_and_bad_choices_refused(app, client_as):
    client = client_as("citizen")
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert "An accreditation of your organisation is suspended" in page
    response = post_form(client, "/notifications/preferences", {
        "accreditation__suspended": "digest", "accreditation__expiring": "off"})
    assert response.status_code == 302
    chosen = notes.preferences(client.user)  # the modules' kinds keep their defaults
    assert {k: chosen[k] for k in ("accreditation.suspended", "accreditation.expiring")} == {
        "accreditation.suspended": "digest", "accreditation.expiring": "off"}
    response = post_form(client, "/notifications/preferences", {
        "accreditation__suspended": "loud", "accreditation__expiring": "off"})
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)
    assert notes.preferences(client.user)["accreditation.suspended"] == "digest"


def test_follow_and_unfollow_an_organisation(app, client_as, make_org):
    client = client_as("citizen")
    org = make_org("followed-coop", name="Followed Coop")
    response = post_form(client, f"/notifications/follow/organisation/{org.id}", {"next": "/organisations/"})
    assert response.status_code == 302 and response.headers["Location"] == "/organisations/"
    assert notes.is_following(client.user, "organisation", org.id)
    assert "Followed Coop" in client.get("/notifications/preferences").get_data(as_text=True)
    assert post_form(client, "/notifications/follow/organisation/99999").status_code == 404
    assert post_form(client, "/notifications/follow/spaceship/1").status_code == 404
    post_form(client, f"/notifications/unfollow/organisation/{org.id}")
    assert db.session.execute(select(Follow)).first() is None


def test_follow_button_macro_renders_for_modules(app, client_as, make_org):
    from flask import render_template_string
    client = client_as("citizen")
    org = make_org()
    notes.follow(client.user, "organisation", org.id)
    source = '{% from "notifications/_follow.html" import follow_button %}{{ follow_button("organisation", oid) }}'
    with app.test_request_context("/"):
        from flask_login import login_user
        login_user(client.user)
        html = render_template_string(source, oid=org.id)
    assert f'/notifications/unfollow/organisation/{org.id}' in html and 'aria-pressed="true"' in html


def test_unsubscribe_page_needs_no_login_and_rejects_forged_tokens(app, client, make_user):
    user = make_user()
    token = unsubscribe_token(user.id, ["accreditation.expiring"])
    page = client.get(f"/notifications/unsubscribe/{token}").get_data(as_text=True)
    assert "expires within 30 days" in page
    assert notes.preferences(user)["accreditation.expiring"] == "immediate"  # a GET changes nothing
    assert client.post(f"/notifications/unsubscribe/{token}").status_code == 200
    assert notes.preferences(user)["accreditation.expiring"] == "off"
    assert client.get(f"/notifications/unsubscribe/{token[:-2]}xx").status_code == 404
