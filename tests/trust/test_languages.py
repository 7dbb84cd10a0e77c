"""Languages across the modules: each module's PDFs in Catalan, Spanish and Italian
keep their accents and Catalan characters (the text extracted from the PDF is the
text that went in), and the modules' pages write money and dates per locale."""
import re
from io import BytesIO

from babel.dates import format_date
from babel.numbers import format_currency
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from councils.models import Council, Meeting
from pacts.models import Pact
from procurement.models import Award
from vouchers.models import Voucher

from .crawl import demo_client, load_demo, parse, walk

CITY = "Cal·lípolis de l'Àneu i Mançanet"
PAGE_LABEL = {"ca": "Pàgina 1 de", "es": "Página 1 de", "it": "Pagina 1 di"}
LANGUAGES = ("ca", "es", "it")


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-"), data[:200]
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def _pdf_links(app):
    """One PDF of each module, found by following the demo city's links as an official."""
    client = demo_client(app, "official")
    found = {}
    for visit in walk(app, "official", client=client, per_route=3):
        links, _forms = parse(visit.html, visit.url)
        for link in links:
            path = link.split("?")[0]
            if path.endswith(".pdf"):
                found.setdefault(path.strip("/").split("/")[0], path)
    # Documents a few clicks deeper than the walk goes: a signed pact, an award decision.
    pact = db.session.scalars(select(Pact.id).where(Pact.state.in_(["signed", "active"]))).first()
    award = db.session.scalars(select(Award.process_id)).first()
    found.setdefault("pacts", f"/pacts/{pact}/pact.pdf")
    found.setdefault("procurement", f"/procurement/{award}/award.pdf")
    return client, found


def _follow_language(url, language):
    """Documents issued in their record's language (pacts, councils) are switched to `language`."""
    if m := re.match(r"/pacts/(\d+)/pact\.pdf", url):
        db.session.get(Pact, int(m.group(1))).locale = language
    if m := re.match(r"/councils/meetings/(\d+)/minutes\.pdf", url):
        db.session.get(Meeting, int(m.group(1))).locale = language
    if m := re.match(r"/councils/([\w-]+)/composition\.pdf", url):
        db.session.scalars(select(Council).where(Council.slug == m.group(1))).one().locale = language
    db.session.commit()


def test_every_modules_pdf_keeps_accents_and_catalan_characters(app):
    load_demo(app)
    app.config["PROCOMUN_CITY_NAME"] = CITY
    client, links = _pdf_links(app)
    assert {"pacts", "councils", "procurement", "vouchers"} <= set(links), links
    problems = []
    for module, url in sorted(links.items()):
        for language in LANGUAGES:
            _follow_language(url, language)
            response = client.get(url, headers={"Accept-Language": language})
            assert response.status_code == 200, (url, response.status_code)
            text = pdf_text(response.data)
            compact = re.sub(r"\s+", " ", text)
            if CITY not in compact:
                problems.append(f"{module} {url} [{language}]: city name garbled")
            if PAGE_LABEL[language] not in compact:
                problems.append(f"{module} {url} [{language}]: no {PAGE_LABEL[language]!r}")
    assert not problems, "\n".join(problems)


def test_vouchers_pages_write_money_and_dates_per_locale(app):
    load_demo(app)
    citizen = demo_client(app, "citizen")
    from app.accounts.models import User
    voucher = db.session.scalars(select(Voucher).join(User, User.id == Voucher.holder_id).where(
        User.email == "citizen@villanova.example").order_by(Voucher.id)).first()
    for language in ("en", "es", "it", "ca"):
        page = citizen.get(f"/vouchers/mine/{voucher.id}", headers={"Accept-Language": language})
        html = page.get_data(as_text=True).replace("\xa0", " ").replace("\u202f", " ")
        assert f'lang="{language}"' in html
        value = format_currency(voucher.value_cents / 100, "EUR", locale=language).replace("\xa0", " ")
        assert value in html, (value, language)
        assert format_date(voucher.valid_until, "medium", locale=language).replace("\xa0", " ") in html
