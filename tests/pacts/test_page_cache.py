"""Public pages served to anonymous visitors from a shared rendered copy
(app/pagecache.py): fresh again after the cache period, never for a signed-in
user, one copy per language, and each visitor's own CSRF token in it."""
import os
import re
import time
from pathlib import Path

import pytest

from app.pagecache import FOLDER
from pacts.models import PactState


@pytest.fixture
def cached(app):
    app.config["PROCOMUN_PUBLIC_PAGE_CACHE_SECONDS"] = 30
    return app


def _age_cache(app, seconds=60):
    """Make every stored page older than the cache period, as time passing would."""
    past = time.time() - seconds
    for page in (Path(app.instance_path) / FOLDER).glob("*.html"):
        os.utime(page, (past, past))


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def test_a_new_pact_appears_once_the_cached_register_expires(cached, world, client):
    world.walk(world.propose(title="First pact"), PactState.SUBMITTED)
    first = client.get("/pacts/")
    assert first.status_code == 200 and first.headers["X-Page-Cache"] == "miss"
    assert "private" in first.headers["Cache-Control"] and "no-cache" in first.headers["Cache-Control"]
    assert "Accept-Language" in first.headers["Vary"] and "Cookie" in first.headers["Vary"]
    world.walk(world.propose(title="Second pact"), PactState.SUBMITTED)
    again = client.get("/pacts/")
    assert again.headers["X-Page-Cache"] == "hit"
    assert "First pact" in again.get_data(as_text=True) and "Second pact" not in again.get_data(as_text=True)
    _age_cache(cached)
    later = client.get("/pacts/")
    assert later.headers["X-Page-Cache"] == "miss" and "Second pact" in later.get_data(as_text=True)


def test_filters_and_pages_are_cached_apart(cached, world, client):
    world.walk(world.propose(title="Only pact"), PactState.SUBMITTED)
    client.get("/pacts/")
    filtered = client.get("/pacts/?state=active")
    assert filtered.headers["X-Page-Cache"] == "miss" and "Only pact" not in filtered.get_data(as_text=True)


def test_a_signed_in_user_never_gets_the_anonymous_copy(cached, world, client, client_as):
    world.walk(world.propose(title="First pact"), PactState.SUBMITTED)
    client.get("/pacts/")  # the anonymous copy is stored
    world.walk(world.propose(title="Second pact"), PactState.SUBMITTED)
    citizen = client_as()
    page = citizen.get("/pacts/")
    assert "X-Page-Cache" not in page.headers and "no-store" in page.headers["Cache-Control"]
    assert "Second pact" in page.get_data(as_text=True) and citizen.user.name in page.get_data(as_text=True)
    # …and what the signed-in user saw was not stored for anonymous visitors.
    anonymous = client.get("/pacts/")
    assert anonymous.headers["X-Page-Cache"] == "hit" and citizen.user.name not in anonymous.get_data(as_text=True)


def test_each_language_has_its_own_copy(cached, world, app):
    english = app.test_client().get("/pacts/", headers={"Accept-Language": "en"})
    spanish = app.test_client().get("/pacts/", headers={"Accept-Language": "es"})
    assert spanish.headers["X-Page-Cache"] == "miss"
    assert '<html lang="es">' in spanish.get_data(as_text=True)
    again = app.test_client().get("/pacts/", headers={"Accept-Language": "es"})
    assert again.headers["X-Page-Cache"] == "hit" and '<html lang="es">' in again.get_data(as_text=True)
    assert '<html lang="en">' in app.test_client().get("/pacts/", headers={"Accept-Language": "en"}).get_data(
        as_text=True)
    assert english.status_code == 200


def test_the_chosen_language_is_respected_on_a_cached_page(cached, world, client):
    client.get("/pacts/")  # English copy stored
    token = _csrf(client.get("/pacts/").get_data(as_text=True))
    chosen = client.post("/locale", data={"csrf_token": token, "locale": "it", "next": "/pacts/"})
    assert chosen.status_code == 302
    page = client.get("/pacts/")
    assert '<html lang="it">' in page.get_data(as_text=True)


def test_every_visitor_gets_their_own_working_csrf_token(cached, world, app):
    one, two = app.test_client(), app.test_client()
    first = one.get("/pacts/")
    second = two.get("/pacts/")
    assert second.headers["X-Page-Cache"] == "hit"
    token_one, token_two = _csrf(first.get_data(as_text=True)), _csrf(second.get_data(as_text=True))
    assert token_one != token_two and "__procomun_csrf_token__" not in second.get_data(as_text=True)
    # The token in the cached copy works for the second visitor's own session.
    assert two.post("/locale", data={"csrf_token": token_two, "locale": "ca", "next": "/pacts/"}).status_code == 302
    assert two.get("/pacts/").get_data(as_text=True).count('<html lang="ca">') == 1


def test_a_page_with_flashed_messages_is_neither_served_from_nor_stored_in_the_cache(cached, world, client):
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Just for you")]
    page = client.get("/pacts/")
    assert "X-Page-Cache" not in page.headers and "Just for you" in page.get_data(as_text=True)
    assert "Just for you" not in client.get("/pacts/").get_data(as_text=True)


def test_without_a_cache_period_pages_are_always_rendered(app, world, client):
    assert app.config["PROCOMUN_PUBLIC_PAGE_CACHE_SECONDS"] == 0  # tests and development
    assert "X-Page-Cache" not in client.get("/pacts/").headers
    assert not (Path(app.instance_path) / FOLDER).exists()


def test_council_page_and_open_books_are_cached_too(cached, client):
    books = client.get("/vouchers/open-books")
    assert books.status_code == 200 and books.headers["X-Page-Cache"] == "miss"
    assert client.get("/vouchers/open-books").headers["X-Page-Cache"] == "hit"
    assert client.get("/councils/no-such-council").status_code == 404  # errors are not stored
    assert client.get("/councils/no-such-council").status_code == 404


def test_made_up_query_strings_cannot_fill_the_disk(cached, world, client, monkeypatch):
    """Every query string is its own copy: past the cap, expired copies are swept, and while the
    folder is still full of fresh ones pages are served uncached instead of stored."""
    monkeypatch.setattr("app.pagecache.MAX_COPIES", 3)
    folder = Path(cached.instance_path) / FOLDER
    for n in range(5):
        assert client.get(f"/pacts/?junk={n}").status_code == 200
    assert len(list(folder.glob("*.html"))) == 3
    assert client.get("/pacts/?junk=0").headers["X-Page-Cache"] == "hit"
    assert client.get("/pacts/?junk=9").headers["X-Page-Cache"] == "miss"
    _age_cache(cached)
    client.get("/pacts/?junk=10")
    assert len(list(folder.glob("*.html"))) == 1  # the expired three swept, the new one kept
