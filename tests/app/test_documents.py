"""PDFs are real PDFs from WeasyPrint, with the city's header, page numbers,
reference, date, and text in the document's language (accents included)."""
from datetime import timedelta
from io import BytesIO

import pytest
from pypdf import PdfReader

from app.documents import DocumentError, html_to_pdf
from app.i18n import city_today
from app.organisations import operations as ops
from app.organisations.defaults import ensure_defaults


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


@pytest.fixture
def accreditation(app, make_org):
    ensure_defaults()
    coop = make_org("coop-doc", name="Cooperativa Sociale l'Àncora")
    return ops.accredit(coop, ops.category_by_slug("elder-care"), city_today() + timedelta(days=365),
                        met_all=True, wage_ratio="3")


def test_certificate_pdf_in_english(client, accreditation):
    response = client.get(f"/organisations/accreditations/{accreditation.id}/certificate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "Certificate of accreditation" in text
    assert "Villanova" in text and f"ACC-{city_today().year}-{accreditation.id:05d}" in text
    assert "Cooperativa Sociale l'Àncora" in text
    assert "Elder care" in text
    assert "Page 1 of 1" in text


def test_certificate_pdf_in_catalan_keeps_its_characters(client, accreditation):
    response = client.get(f"/organisations/accreditations/{accreditation.id}/certificate.pdf",
                          headers={"Accept-Language": "ca"})
    text = pdf_text(response.data)
    assert "Certificat d'acreditació" in text
    assert "Atenció a la gent gran" in text
    assert "l'Àncora" in text


def test_the_pdf_engine_fetches_nothing_from_the_network(app):
    html = '<html><body><img src="http://example.org/x.png"><p>Hola</p></body></html>'
    assert "Hola" in pdf_text(html_to_pdf(html))  # the image is refused, the document still renders


def test_engine_failures_become_one_error(app, monkeypatch):
    import weasyprint
    def broken(self, *args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(weasyprint.HTML, "write_pdf", broken)
    with pytest.raises(DocumentError, match="disk full"):
        html_to_pdf("<p>x</p>")
