"""A `next` that is not a plain path on this site is ignored: after signing in, switching the
language or following a record, the visitor lands on the page named only if it is one of ours,
else on the home page — never on another host, never a 500 (a CR/LF would split the header)."""
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.accounts.models import Role
from app.pages import same_site_path

from ..conftest import PASSWORD, csrf_token, post_form

HOSTILE = ["/ok\r\nSet-Cookie: x=1", "/ok\nLocation: //evil.example", "\r\n//evil.example", "//evil.example",
           "\\\\evil.example", "/\\evil.example", "/\\/evil.example", "https://evil.example/",
           "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "http:/evil.example",
           " /pacts/", "/pacts/\x00", "/x\tx", "\u2028//evil.example", "evil.example", "", "/" + "a" * 3000]
PLAIN = ["/pacts/", "/councils/?page=2", "/account/", "/pacts/3#clauses", "/organisations/caf%C3%A9"]


@pytest.mark.parametrize("target", HOSTILE)
def test_what_is_not_a_plain_path_is_refused(target):
    assert same_site_path(target) is None


@pytest.mark.parametrize("target", PLAIN)
def test_a_plain_path_is_kept(target):
    assert same_site_path(target) == target


def _lands_on_this_site(response):
    assert response.status_code == 302, response.status_code
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "localhost"), response.headers["Location"]
    assert "\r" not in response.headers["Location"] and "\n" not in response.headers["Location"]
    return location.path


@pytest.mark.parametrize("target", HOSTILE)
def test_sign_in_ignores_a_hostile_next(client, make_user, target):
    user = make_user(Role.CITIZEN)
    response = post_form(client, "/account/login", {"email": user.email, "password": PASSWORD},
                         query_string={"next": target})
    assert _lands_on_this_site(response) == "/"


def test_sign_in_follows_a_plain_next(client, make_user):
    user = make_user(Role.CITIZEN)
    response = post_form(client, "/account/login", {"email": user.email, "password": PASSWORD},
                         query_string={"next": "/notifications/"})
    assert _lands_on_this_site(response) == "/notifications/"


@pytest.mark.parametrize("target", HOSTILE)
def test_the_language_switch_ignores_a_hostile_next(client, target):
    response = post_form(client, "/locale", {"locale": "es", "next": target})
    assert _lands_on_this_site(response) == "/"


def test_the_language_switch_goes_back_to_the_referring_page_of_this_site(client):
    token = csrf_token(client)
    back = client.post("/locale", data={"locale": "it", "csrf_token": token},
                       headers={"Referer": "http://localhost/pacts/?page=2"})
    assert back.headers["Location"] == "/pacts/?page=2"
    away = client.post("/locale", data={"locale": "it", "csrf_token": token},
                       headers={"Referer": "https://evil.example/pacts/"})
    assert away.headers["Location"] == "/"


@pytest.mark.parametrize("target", HOSTILE)
def test_follow_and_unfollow_ignore_a_hostile_next(client_as, make_org, target):
    client = client_as(Role.CITIZEN)
    org = make_org()
    follow = post_form(client, f"/notifications/follow/organisation/{org.id}", {"next": target})
    assert _lands_on_this_site(follow) == "/"
    unfollow = post_form(client, f"/notifications/unfollow/organisation/{org.id}", {"next": target})
    assert _lands_on_this_site(unfollow) == "/"


def test_any_next_at_all_gives_a_same_site_redirect(client):
    token = csrf_token(client)

    @settings(max_examples=200, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(target=st.one_of(st.text(max_size=60), st.sampled_from(HOSTILE),
                            st.text(alphabet="/\\:.@%\r\n\t ?#evil", max_size=20)))
    def case(target):
        response = client.post("/locale", data={"locale": "en", "csrf_token": token, "next": target})
        path = _lands_on_this_site(response)
        assert path == "/" or same_site_path(target) is not None

    case()
