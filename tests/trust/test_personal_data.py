"""No private person is named in public without their consent.

The demo city is crawled as an anonymous visitor: every page reachable by links from the home
page and the open-data page, and every file they link to (open data, OCDS releases and records,
calendars, PDFs read as text). None of them may carry the name or the email address of a
private person: anyone who holds no office (officials and administrators act for the city,
council members and candidates sit in public). A resident who agrees to have their name
published as a pact's proposer is named on that pact, and only there."""
import io
from urllib.parse import urldefrag, urljoin, urlsplit

from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from app.accounts.models import Role, User
from app.extensions import db
from councils.models import Candidacy, Mandate
from pacts import commons_register, lifecycle, proposals
from pacts.models import Commons

from .crawl import load_demo, parse

FILES = (".json", ".csv", ".geojson", ".ics", ".pdf")


def _private_people() -> list[User]:
    office = {u for (u,) in db.session.execute(select(Mandate.user_id))}
    office |= {u for (u,) in db.session.execute(select(Candidacy.user_id))}
    return [u for u in db.session.execute(select(User)).scalars()
            if not u.has_role(Role.OFFICIAL, Role.ADMIN) and u.id not in office]


def _text(answer) -> str:
    if answer.mimetype == "application/pdf":
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(answer.get_data())).pages)
    return answer.get_data(as_text=True)


def crawl(app, *, per_endpoint=40, limit=1500, host="localhost"):
    """Every public URL reachable from the home page and the open-data page: {url: text}, asked
    for with `host` in the Host header."""
    client = app.test_client()
    ours = {"localhost", host, urlsplit(app.config["PROCOMUN_BASE_URL"]).netloc}
    adapter = app.url_map.bind("localhost")
    queue, seen, texts, counts = ["/", "/open-data/"], set(), {}, {}
    while queue and len(texts) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        try:
            endpoint, _args = adapter.match(urlsplit(url).path, method="GET")
        except HTTPException:
            continue
        if endpoint == "static" or counts.get(endpoint, 0) >= per_endpoint:
            continue
        counts[endpoint] = counts.get(endpoint, 0) + 1
        answer = client.get(url, base_url=f"http://{host}")
        if answer.status_code == 302:
            queue.append(urlsplit(answer.headers["Location"]).path)
            continue
        if answer.status_code != 200:
            continue
        texts[url] = _text(answer)
        links = parse(texts[url], url)[0] if answer.mimetype == "text/html" else []
        for link in links:
            target, _fragment = urldefrag(urljoin(f"http://{host}" + url, link))
            parts = urlsplit(target)
            if parts.netloc not in ours:
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if local not in seen and "logout" not in local:
                queue.append(local)
    return texts


def test_no_private_person_is_named_in_any_public_page_or_file(app):
    load_demo(app)
    people = _private_people()
    assert len(people) >= 4 and {"Marco Rossi", "Aina Puig", "Lucía Fernández"} <= {p.name for p in people}
    texts = crawl(app)
    kinds = {url.rsplit(".", 1)[-1] for url in texts if url.endswith(FILES)}
    assert {"json", "csv", "geojson", "ics", "pdf"} <= kinds, kinds
    assert any("/pacts/" in url and url.endswith(".pdf") for url in texts)  # a signed pact's document
    assert sum(url.startswith("/pacts/") for url in texts) >= 8
    leaks = [f"{person.name} / {person.email} in {url}" for url, text in texts.items() for person in people
             if person.name.lower() in text.lower() or person.email.lower() in text.lower()]
    assert leaks == []
    # The pages say who proposed in words that name no one.
    assert any("a resident of" in text for url, text in texts.items() if url.startswith("/pacts/"))


def test_a_resident_who_agrees_is_named_on_their_pact(app, client, make_user, backend):
    resident = make_user(Role.CITIZEN, name="Teresa Gallo")
    commons = commons_register.save_commons(actor=make_user(Role.OFFICIAL), name="Orto di via Libia", kind="green_area",
                                    neighbourhood="San Donato")
    with app.test_request_context():
        named = proposals.propose(actor=resident, title="Vegetable garden", intervention="care", track="complex",
                                 commons_ids=[commons.id], what="Grow vegetables together.", publish_name=True)
        unnamed = proposals.propose(actor=resident, title="Compost corner", intervention="care", track="complex",
                                   commons_ids=[commons.id], what="Compost together.")
        for pact in (named, unnamed):
            lifecycle.submit(pact, actor=resident)
    assert "Teresa Gallo" in client.get(f"/pacts/{named.id}").get_data(as_text=True)
    page = client.get(f"/pacts/{unnamed.id}").get_data(as_text=True)
    assert "Teresa Gallo" not in page and "a resident of San Donato" in page
    rows = client.get("/open-data/pacts.json").get_json()["pacts"]
    assert {r["title"]: r["proposer"] for r in rows} == {"Vegetable garden": "Teresa Gallo",
                                                         "Compost corner": "a resident of San Donato"}
    api = client.get(f"/api/v1/pacts/{unnamed.id}").get_json()
    assert api["proposer"] == "a resident of San Donato"
    assert db.session.get(Commons, commons.id).neighbourhood == "San Donato"
