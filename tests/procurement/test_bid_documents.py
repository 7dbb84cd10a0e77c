"""A bid's declarations and documents (#18): the declarations its tender requires, PDFs within the
limits, kept with the bid and sealed like the offer until the deadline."""
import io

import pytest

from app.accounts.models import Role
from app.errors import Invalid, NotFound
from procurement import bid_documents, tenders

from ..conftest import login, post_form
from .conftest import DECLARED, pass_deadline

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


def _as(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def _pdf(content=PDF, title="Technical proposal", kind="application/pdf"):
    return (io.BytesIO(content), kind, title)


def test_the_declarations_a_tender_requires(city):
    process = city.process("tender", procedure="reserved")
    assert [d.code for d in bid_documents.required_declarations(process)] == ["no_exclusion_grounds",
                                                                             "social_economy"]
    with pytest.raises(Invalid, match="Tick every declaration") as refused:
        tenders.submit_bid(process, city.coop, 1000, actor=city.coop_member, declarations=["no_exclusion_grounds"])
    assert refused.value.field == "declare_social_economy" and process.bids == []
    with pytest.raises(Invalid, match="Unknown declaration"):
        tenders.submit_bid(process, city.coop, 1000, actor=city.coop_member, declarations=[*DECLARED, "anything"])
    bid = tenders.submit_bid(process, city.coop, 1000, actor=city.coop_member,
                             declarations=["social_economy", "no_exclusion_grounds"])
    assert bid.declarations == ["no_exclusion_grounds", "social_economy"]  # in the published order
    fair = tenders.create_process(actor=city.official, title="Cleaning", department=city.department,
                                  budget_cents=1000)
    tenders.set_criteria(fair, [("price", 50, ""), ("fair_wages", 50, "")], actor=city.official)
    assert [d.code for d in bid_documents.required_declarations(fair)] == ["no_exclusion_grounds", "wage_ratio"]


def test_documents_are_pdfs_within_the_limits(city):
    process = city.process("tender")
    with pytest.raises(Invalid, match="PDF") as refused:
        tenders.submit_bid(process, city.coop, 1000, actor=city.coop_member, declarations=DECLARED,
                           documents=[_pdf(b"MZ\x90\x00 not a pdf")])  # what the browser claims is not enough
    assert refused.value.field == "documents"
    with pytest.raises(Invalid, match="at most 5 MB"):
        tenders.submit_bid(process, city.coop, 1000, actor=city.coop_member, declarations=DECLARED,
                           documents=[_pdf(PDF + b"0" * bid_documents.MAX_BYTES)])
    with pytest.raises(Invalid, match="at most 5 documents"):
        tenders.submit_bid(process, city.coop, 1000, actor=city.coop_member, declarations=DECLARED,
                           documents=[_pdf() for _n in range(6)])
    assert process.all_bids == []
    bid = tenders.submit_bid(process, city.coop, 1000, actor=city.coop_member, declarations=DECLARED,
                             documents=[_pdf(), _pdf(title="Social-economy registration")])
    assert [(d.title, d.size) for d in bid.documents] == [("Technical proposal", len(PDF)),
                                                          ("Social-economy registration", len(PDF))]
    document, path = bid_documents.document_by_id(bid.documents[0].id, city.coop_member)
    assert path.read_bytes() == PDF
    # A new bid replaces the old one with its own papers; the old one keeps its own.
    again = tenders.submit_bid(process, city.coop, 900, actor=city.coop_member, declarations=DECLARED)
    assert again.documents == [] and len(bid.documents) == 2


def test_documents_are_sealed_until_the_deadline(city, make_user):
    process = city.process("tender")
    bid = tenders.submit_bid(process, city.coop, 1000, actor=city.coop_member, declarations=DECLARED,
                             documents=[_pdf()])
    document_id = bid.documents[0].id
    for stranger in (city.official, city.coop_b_member, None, make_user(Role.CITIZEN)):
        with pytest.raises(NotFound):
            bid_documents.document_by_id(document_id, stranger)
    pass_deadline(process)
    assert bid_documents.document_by_id(document_id, city.official)[0].id == document_id
    assert bid_documents.document_by_id(document_id, city.outsider)[0].id == document_id  # officials read all
    with pytest.raises(NotFound):
        bid_documents.document_by_id(document_id, city.coop_b_member)  # another bidder never


def test_declarations_and_documents_through_the_page(app, client, city):
    process = city.process("tender", procedure="reserved")
    bidder = _as(app, city.coop_member)
    form = bidder.get(f"/procurement/{process.id}/bid").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and "None of the grounds for exclusion" in form
    refused = post_form(bidder, f"/procurement/{process.id}/bid", {
        "organisation": city.coop.id, "amount": "1000", "declare_no_exclusion_grounds": "y"})
    assert refused.status_code == 200 and 'id="declare_social_economy-error"' in refused.get_data(as_text=True)
    assert process.bids == []
    sent = post_form(bidder, f"/procurement/{process.id}/bid", {
        "organisation": city.coop.id, "amount": "1000", "declare_no_exclusion_grounds": "y",
        "declare_social_economy": "y", "documents": [(io.BytesIO(PDF), "proposal.pdf", "application/pdf")]},
        content_type="multipart/form-data")
    assert sent.status_code == 302
    bid = process.bids[0]
    url = f"/procurement/bid-documents/{bid.documents[0].id}"
    own = bidder.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert url in own and "Declared: The organisation is a social-economy organisation" in own
    assert bidder.get(url).data == PDF
    official = _as(app, city.official)
    assert official.get(url).status_code == 404  # sealed
    assert url not in official.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert client.get(url).status_code in (302, 401)
    pass_deadline(process)
    assert official.get(url).status_code == 200
    assert url in official.get(f"/procurement/{process.id}").get_data(as_text=True)


def test_declarations_through_the_api(api_client, city):
    process = city.process("tender", procedure="reserved")
    api, headers = api_client(city.coop_member)
    url = f"/api/v1/procurement/processes/{process.id}/bids"
    missing = api.post(url, json={"organisation": "la-tela", "amount_cents": 1000}, headers=headers)
    assert missing.status_code == 422 and missing.get_json()["field"] == "declare_no_exclusion_grounds"
    sent = api.post(url, json={"organisation": "la-tela", "amount_cents": 1000,
                               "declarations": ["no_exclusion_grounds", "social_economy"]}, headers=headers)
    assert sent.status_code == 201 and sent.get_json()["declarations"] == ["no_exclusion_grounds", "social_economy"]
