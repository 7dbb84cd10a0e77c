"""Pages: front desk refusals, own records only, officials' desks, documents."""
import io
from datetime import timedelta

import pytest
from markupsafe import escape
from pypdf import PdfReader

from app.extensions import db
from tests.conftest import login, post_form
from vouchers import closing, contributions, issuance, ledger, redemption, settlement, time_credits
from vouchers.models import Redemption, Transfer, Voucher


@pytest.fixture
def voucher(city):
    return issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)


def _as(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def test_front_desk_redeems_and_the_holder_sees_it(app, city, voucher):
    desk = _as(app, city.member)
    page = desk.get("/vouchers/desk")
    assert page.status_code == 200 and "La Tela" in page.get_data(as_text=True)
    response = post_form(desk, "/vouchers/desk", {"code": voucher.code, "amount": "15.00",
                                                  "category": "elder-care"})
    assert response.status_code == 302
    assert voucher.code in desk.get(response.headers["Location"]).get_data(as_text=True)
    holder = _as(app, city.citizen)
    mine = holder.get("/vouchers/mine").get_data(as_text=True)
    assert voucher.code in mine and "35.00" in mine
    detail = holder.get(f"/vouchers/mine/{voucher.id}").get_data(as_text=True)
    assert "La Tela" in detail and "15.00" in detail


@pytest.mark.parametrize("data, message", [
    ({"amount": "99.99"}, "Only €50.00 remain"),
    ({"code": "ABCD-EFGH-JKMN"}, "mistyped"),
    ({"code": "ABCD"}, "twelve characters"),
    ({"category": "childcare"}, "does not pay for this service"),
])
def test_front_desk_refusals_keep_the_input_and_say_why(app, city, voucher, data, message):
    desk = _as(app, city.member)
    form = {"code": voucher.code, "amount": "10", "category": "elder-care", **data}
    transfers = db.session.query(Transfer).count()
    response = post_form(desk, "/vouchers/desk", form)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in text
    assert f'value="{form["code"]}"' in text
    assert db.session.query(Transfer).count() == transfers


def test_citizens_see_only_their_own_vouchers(app, city, voucher, make_user):
    stranger = _as(app, make_user())
    assert stranger.get(f"/vouchers/mine/{voucher.id}").status_code == 404
    assert stranger.get(f"/vouchers/mine/{voucher.id}/voucher.pdf").status_code == 404
    assert stranger.get(f"/vouchers/mine/{voucher.id}/qr.svg").status_code == 404
    assert voucher.code not in stranger.get("/vouchers/mine").get_data(as_text=True)
    official = _as(app, city.official)
    assert official.get(f"/vouchers/mine/{voucher.id}").status_code == 200


def test_voucher_pdf_and_qr(app, city, voucher):
    holder = _as(app, city.citizen)
    pdf = holder.get(f"/vouchers/mine/{voucher.id}/voucher.pdf")
    assert pdf.mimetype == "application/pdf"
    assert voucher.code in PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    svg = holder.get(f"/vouchers/mine/{voucher.id}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data


@pytest.mark.parametrize("ending", ["revoked", "expired by date", "spent"])
def test_a_voucher_no_desk_would_take_is_neither_printed_nor_shown_as_a_qr(app, city, voucher, ending):
    """A citizen must not print, or show at a desk, a voucher that can no longer be spent: its page
    says why, instead of offering the QR code and the PDF."""
    if ending == "revoked":
        closing.revoke_voucher(voucher, "issued twice", actor=city.official)
    elif ending == "expired by date":  # the nightly expiry has not run yet: its date decides
        voucher.valid_until = city.today - timedelta(days=1)
        db.session.commit()
    else:
        redemption.redeem(voucher.code, 5000, "elder-care", city.coop, actor=city.member)
    holder = _as(app, city.citizen)
    page = holder.get(f"/vouchers/mine/{voucher.id}").get_data(as_text=True)
    label = {"revoked": "Revoked", "expired by date": "Expired", "spent": "Spent"}[ending]
    assert f"<dd>{label}</dd>" in page and "can no longer be spent" in page
    assert "voucher.pdf" not in page and "qr.svg" not in page
    assert label in holder.get("/vouchers/mine").get_data(as_text=True)
    assert holder.get(f"/vouchers/mine/{voucher.id}/qr.svg").status_code == 404
    pdf = holder.get(f"/vouchers/mine/{voucher.id}/voucher.pdf", follow_redirects=True)
    assert pdf.mimetype == "text/html" and "it is not printed" in pdf.get_data(as_text=True)


def test_official_opens_a_programme_and_issues(app, city):
    official = _as(app, city.official)
    response = post_form(official, "/vouchers/programmes", {
        "slug": "childcare-2027", "name": "Childcare 2027", "budget": "500.00", "categories": ["childcare"],
        "valid_until": (city.today + timedelta(days=90)).isoformat()})
    assert response.status_code == 302, response.get_data(as_text=True)
    response = post_form(official, "/vouchers/programmes/childcare-2027", {
        "holder_email": "fresh@example.org", "amount": "600", "invite": "y"})  # no account: invited
    assert response.status_code == 422 and "left to issue" in response.get_data(as_text=True)
    response = post_form(official, "/vouchers/programmes/childcare-2027", {
        "holder_email": "fresh@example.org", "amount": "200,00", "invite": "y"})
    assert response.status_code == 302
    assert db.session.query(Voucher).count() == 1
    response = post_form(official, "/vouchers/programmes/childcare-2027", {"holder_email": "fresh@example.org"})
    assert response.status_code == 422 and "income to apply the scale" in response.get_data(as_text=True)
    assert ledger.verify().ok


def test_batch_form_reports_bad_rows_then_issues_good_ones(app, city):
    official = _as(app, city.official)
    content = b"holder_email,amount_cents,valid_until\na@example.org,100,\nnope,100,\n"
    url = "/vouchers/programmes/home-care-2027/batch"
    response = post_form(official, url, {"file": (io.BytesIO(content), "run.csv")},
                         content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "nothing was issued" in text and "“nope” is not an email address" in text
    assert db.session.query(Voucher).count() == 0
    response = post_form(official, url, {"file": (io.BytesIO(content), "run.csv"), "skip_bad_rows": "y",
                                         "unknown_holders": "invite"},
                         content_type="multipart/form-data")
    assert response.status_code == 200 and "1 voucher issued" in response.get_data(as_text=True)
    assert db.session.query(Voucher).count() == 1


def test_settlement_statement_for_the_coop_only(app, city, voucher):
    result = redemption.redeem(voucher.code, 1200, "elder-care", city.coop, actor=city.member)
    from app.database import utcnow
    db.session.get(Redemption, result.redemption_id).at = utcnow() - timedelta(days=2)
    db.session.commit()
    official = _as(app, city.official)
    day = (city.today - timedelta(days=2)).isoformat()
    response = post_form(official, "/vouchers/settlements", {"period_start": day, "period_end": day})
    assert response.status_code == 302
    cleared = settlement.settlements().items[0]
    url = f"/vouchers/settlements/{cleared.id}/la-tela"
    member = _as(app, city.member)
    pdf = member.get(url + ".pdf")
    assert pdf.mimetype == "application/pdf"
    assert "12.00" in PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    csv_text = member.get(url + ".csv").get_data(as_text=True)
    assert "redemption_id,date,voucher_code,service_category,amount_cents" in csv_text
    assert voucher.code in csv_text
    assert _as(app, city.other_member).get(url + ".pdf").status_code == 404
    assert "la-tela" in member.get("/vouchers/statements").get_data(as_text=True)


def test_contribution_receipt(app, city):
    citizen = _as(app, city.citizen)
    response = post_form(citizen, "/vouchers/contribute", {"amount": "25", "organisation": ""})
    assert response.status_code == 302
    pdf = citizen.get(response.headers["Location"])
    assert "25.00" in PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert _as(app, city.member).get(response.headers["Location"]).status_code == 404


def test_a_returned_contribution_voids_its_receipt(app, city, api_client):
    """A contribution given back by a reversal must not keep a receipt fit for a tax claim."""
    contribution = contributions.contribute(2500, actor=city.citizen)
    url = f"/vouchers/contributions/{contribution.id}/receipt.pdf"
    citizen = _as(app, city.citizen)
    assert "Void" not in PdfReader(io.BytesIO(citizen.get(url).data)).pages[0].extract_text()
    reversal_id = ledger.reverse(contribution.transfer_id, actor=city.official, reason="paid twice by mistake")
    text = PdfReader(io.BytesIO(citizen.get(url).data)).pages[0].extract_text()
    assert "Void" in text and f"#{reversal_id}" in text and "Keep this receipt" not in text
    assert "receipt void" in citizen.get("/vouchers/mine").get_data(as_text=True)
    client, headers = api_client(city.citizen)
    listed = client.get("/api/v1/vouchers/contributions", headers=headers).json["contributions"]
    assert listed[0]["returned_at"]


def test_public_pages_and_open_data(app, city, voucher, client):
    assert client.get("/vouchers/").status_code == 200
    directory = client.get("/vouchers/directory?category=elder-care&neighbourhood=san donato")
    assert "La Tela" in directory.get_data(as_text=True)
    assert "La Tela" not in client.get("/vouchers/directory?neighbourhood=Porto").get_data(as_text=True)
    assert client.get("/vouchers/open-books").status_code == 200
    data = client.get("/open-data/vouchers.json").json
    assert data["figures"][0]["issued_cents"] == 5000
    assert "@" not in client.get("/open-data/vouchers.csv").get_data(as_text=True)


def test_front_desk_cannot_redeem_for_another_coop(app, city, voucher):
    """The desk's organisation field names a co-op the member does not belong to:
    refused before anything moves, on the page and through the query string."""
    desk = _as(app, city.member)
    transfers = db.session.query(Transfer).count()
    response = post_form(desk, "/vouchers/desk", {"code": voucher.code, "amount_cents": "1000",
                                                  "category": "elder-care", "organisation": city.other.slug})
    assert response.status_code == 403
    page = desk.get(f"/vouchers/desk?organisation={city.other.slug}")  # the desk's links name their co-op
    assert page.status_code == 403 and "Casa Comune" not in page.get_data(as_text=True)
    assert desk.get(f"/vouchers/settlements/1/{city.other.slug}.csv").status_code in (403, 404)
    assert db.session.query(Transfer).count() == transfers


def test_movements_speak_the_readers_language_not_the_ledgers(app, city, voucher, make_user):
    """The ledger keeps its references as written (English, ids): the holder's movements show the
    code, the relative's name and the status in their language, and a revocation is not 'expired'."""
    relative = make_user(email="relative@example.org", name="Aina Puig")
    time_credits.record_time(city.citizen, 120, city.coop, actor=city.member)
    time_credits.give_time(city.citizen, relative, 30)
    time_credits.donate_time(city.citizen, 10)
    redemption.redeem(voucher.code, 1000, "elder-care", city.coop, actor=city.member)
    closing.revoke_voucher(voucher, "issued twice", actor=city.official)
    holder = _as(app, city.citizen)
    post_form(holder, "/locale", {"locale": "es"})
    page = holder.get("/vouchers/mine").get_data(as_text=True)
    assert "<td>Aina Puig</td>" in page and f"to {relative.id}" not in page and "donation" not in page
    detail = holder.get(f"/vouchers/mine/{voucher.id}").get_data(as_text=True)
    assert f"{voucher.code} · Revocado" in detail and "Devuelto al programa" in detail
    assert f"voucher {voucher.code}" not in detail and "revoked" not in detail


@pytest.mark.parametrize("sent, field, message", [
    ({"email": "", "minutes": ""}, "minutes", "This field is required."),
    ({"email": "", "minutes": "1.5"}, "minutes", "Not a valid integer value."),
    ({"email": "", "minutes": "0"}, "minutes", "Give at least 1 minute."),
    ({"email": "citizen@example.org", "minutes": "30"}, "email", "Choose someone else's account."),
    ({"email": "", "minutes": "500"}, "minutes", "The account holds fewer minutes than that."),
    ({"email": "nobody@example.org", "minutes": "500"}, "minutes", "The account holds fewer minutes than that."),
    ({"email": "citizen@example.org", "minutes": "30", "confirm": "yes"}, "email", "Choose someone else's account."),
    ({"email": "nobody@example.org", "minutes": "500", "confirm": "yes"}, "minutes",
     "The account holds fewer minutes than that."),
])
def test_a_refused_gift_of_minutes_comes_back_beside_its_field(app, city, sent, field, message):
    time_credits.record_time(city.citizen, 120, city.coop, actor=city.member)
    holder = _as(app, city.citizen)
    response = post_form(holder, "/vouchers/mine/time", sent)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and f'id="{field}-error">{escape(message)}' in page
    if sent["email"]:
        assert f'value="{sent["email"]}"' in page
    assert time_credits.time_balance(city.citizen) == 120


def test_open_books_name_the_programme_and_write_the_month_the_readers_way(app, city, voucher):
    page = app.test_client().get("/vouchers/open-books", headers={"Accept-Language": "es"}).get_data(as_text=True)
    month = voucher.issued_at.strftime("%Y-%m")
    assert "<td>Home care 2027</td>" in page and "home-care-2027</td>" not in page
    assert f"<td>{month}</td>" not in page and f" {voucher.issued_at.year}</td>" in page


@pytest.mark.parametrize("language,said", [("en", "1 voucher expired; €20.00 returned to its programme."),
                                           ("es", "1 bono caducado; 20,00")])
def test_the_expiry_button_says_how_many_in_the_readers_words(app, city, language, said):
    gone = issuance.issue_voucher(city.programme, city.citizen, 2000, actor=city.official)
    db.session.get(Voucher, gone.id).valid_until = city.today - timedelta(days=1)
    db.session.commit()
    client = app.test_client()
    login(client, "official@example.org")
    done = post_form(client, "/vouchers/expire", headers={"Accept-Language": language})
    assert done.status_code == 302
    page = client.get(done.headers["Location"], headers={"Accept-Language": language}).get_data(as_text=True)
    assert said in page
