"""A pact's pages and documents read in Italian and Catalan write every date, time and number as
the reader does: the guard against ISO dates in sentences and times with seconds coming back."""
import io

import pytest
from pypdf import PdfReader

from app.accounts.models import Role
from pacts import proposals, reports
from pacts.models import PactState

from ..conftest import login
from ..formats import raw_forms, visible_text


@pytest.mark.parametrize("locale", ["it", "ca"])
def test_pact_pages_and_document_write_dates_and_times_as_the_reader_does(app, world, make_user, locale):
    consulted = world.walk(world.propose(title="Orti di via Libia"), PactState.CONSULTATION)
    proposals.comment(consulted, "Ci sto anche io.", actor=world.other)
    pact = world.walk(world.propose(), PactState.ACTIVE)
    reports.file_report(pact, reports.open_due_dates(pact)[0], actor=world.citizen, activities="Weeded.",
                        volunteer_minutes=90)
    official = make_user(Role.OFFICIAL, locale=locale)
    client = app.test_client()
    login(client, official.email)
    for url in (f"/pacts/{pact.id}", f"/pacts/{consulted.id}", "/pacts/", "/pacts/desk"):
        text = visible_text(client.get(url).get_data(as_text=True))
        assert raw_forms(text) == [], url
    signatory = app.test_client()
    login(signatory, world.citizen.email)
    form = signatory.get(f"/pacts/{pact.id}/reports/new", headers={"Accept-Language": locale})
    assert form.status_code == 200 and raw_forms(visible_text(form.get_data(as_text=True))) == []
    for url in (f"/pacts/{pact.id}/pact.pdf", f"/pacts/{consulted.id}/consultation.pdf"):
        response = client.get(url)
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
        assert raw_forms(text.replace(f"PACT-{pact.id}", "")) == [], url
