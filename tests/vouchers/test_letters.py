"""Letters by post (#23): the CLI prints one letter per page for the list's people without an email,
each page with only its own codes and in its reader's language; a letter's code is spent at the desk;
an activation attaches the voucher and sets its PIN, throttled and once per code."""
import csv
import io
import re
import threading
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.errors import Invalid
from app.extensions import db
from tests.conftest import at_once, login, post_form
from vouchers import eligibility, issuance, ledger, letter_documents, letters, redemption
from vouchers.eligibility_models import EligibilityGrant, Letter
from vouchers.models import Voucher

CODE = re.compile(r"[2-9A-HJKMNP-TV-Y]{4}-[2-9A-HJKMNP-TV-Y]{4}-[2-9A-HJKMNP-TV-Y]{4}")
ROWS = [
    ["X1234567A", "1950-03-01", "1000000", "", "Via Roma 1\n40100 Villanova", "it"],
    ["Y7654321B", "1948-11-30", "2500000", "ana@example.org", "Calle Mayor 2", "es"],   # has an email
    ["Z7654321C", "1949-01-02", "1000000", "", "Calle Mayor 3, Madrid", "es"],
    ["W7654321D", "1951-05-06", "2500000", "", "Carrer Gran 4, Girona", "ca"],
    ["V7654321E", "1952-07-08", "1000000", "", "10 High Street, Leeds", "en"],
    ["U7654321F", "1953-09-10", "1000000", "", "", "en"],                               # no address either
]
SENTENCE = {"en": "Your social voucher", "es": "Tu bono social", "it": "Il tuo buono sociale",
            "ca": "El teu bo social"}


@pytest.fixture
def listed(city, tmp_path):
    city.programme.scale = [[1_500_000, 20_000], [3_000_000, 12_000]]
    db.session.commit()
    path = tmp_path / "list.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(eligibility.HEADER)
        writer.writerows(ROWS)
    with open(path, encoding="utf-8") as handle:
        eligibility.load_list(handle, city.programme, actor=city.official)
    return city


def _print(app, tmp_path, name="letters.pdf"):
    out = tmp_path / name
    result = app.test_cli_runner().invoke(args=["vouchers", "letters", "--programme", "home-care-2027",
                                                "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result, PdfReader(out)


def _page_codes(page) -> list[str]:
    return CODE.findall(page.extract_text())


def test_the_cli_prints_one_letter_per_page_with_only_its_own_codes(app, listed, tmp_path):
    result, pdf = _print(app, tmp_path)
    assert result.output.strip() == f"4 letters written to {tmp_path / 'letters.pdf'}"
    assert len(pdf.pages) == 4
    vouchers = db.session.execute(select(Voucher).where(Voucher.holder_id.is_(None)).order_by(Voucher.id)).scalars()
    voucher_codes = [v.code for v in vouchers]
    assert len(voucher_codes) == 4
    seen = set()
    for page, code in zip(pdf.pages, voucher_codes):
        on_page = _page_codes(page)
        # Its voucher code and its activation code, nothing of anyone else's.
        assert len(on_page) == 2 and on_page[0] == code, on_page
        assert not seen & set(on_page)
        seen |= set(on_page)
    texts = [page.extract_text() for page in pdf.pages]
    for text, language in zip(texts, ["it", "es", "ca", "en"]):
        assert SENTENCE[language] in text
    assert "Via Roma 1" in texts[0] and "Calle Mayor 3" in texts[1]
    assert "200,00" in texts[0] and "€200.00" in texts[3]
    # Once per person per programme: the grant rows, and a person on the list by email gets no letter.
    assert db.session.execute(select(func.count()).select_from(EligibilityGrant)).scalar_one() == 4
    assert ledger.verify().ok


def test_printing_again_gives_new_activation_codes_and_the_old_ones_stop_working(app, listed, tmp_path,
                                                                                  make_user):
    _result, first = _print(app, tmp_path, "first.pdf")
    _result, second = _print(app, tmp_path, "second.pdf")
    assert len(second.pages) == 4    # no second voucher for anyone
    old_code, new_code = _page_codes(first.pages[0])[1], _page_codes(second.pages[0])[1]
    assert old_code != new_code
    assert _page_codes(first.pages[0])[0] == _page_codes(second.pages[0])[0]
    person = make_user()
    with pytest.raises(Invalid):
        letters.activate(person, old_code)
    assert letters.activate(person, new_code).holder_id == person.id


def test_a_letters_code_is_spent_at_the_desk(app, listed, tmp_path):
    _result, pdf = _print(app, tmp_path)
    code = _page_codes(pdf.pages[0])[0]
    desk = app.test_client()
    login(desk, listed.member.email)
    response = post_form(desk, "/vouchers/desk", {"code": code, "amount": "15.00", "category": "elder-care"})
    assert response.status_code == 302
    voucher = db.session.execute(select(Voucher).where(Voucher.code == code)).scalar_one()
    db.session.refresh(voucher.account)
    assert voucher.remaining_cents == 20_000 - 1500 and voucher.holder_id is None
    assert ledger.verify().ok


def test_an_activation_attaches_the_voucher_and_sets_its_pin(app, listed, tmp_path, client):
    _result, pdf = _print(app, tmp_path)
    code, activation = _page_codes(pdf.pages[0])
    login(client, listed.citizen.email)
    assert client.get("/vouchers/activate").status_code == 200
    mismatch = post_form(client, "/vouchers/activate", {"code": activation, "pin": "4321", "pin_again": "4322"})
    assert mismatch.status_code == 422 and "The two PINs differ." in mismatch.get_data(as_text=True)
    done = post_form(client, "/vouchers/activate", {"code": activation.lower().replace("-", " "), "pin": "4321",
                                                    "pin_again": "4321"})
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert code in page and "200.00" in page
    assert code in client.get("/vouchers/mine").get_data(as_text=True)
    # The desk now asks for the PIN.
    with pytest.raises(redemption.DomainError) as refused:
        redemption.redeem(code, 100, "elder-care", listed.coop, actor=listed.member)
    assert refused.value.code == "wrong_pin"
    assert redemption.redeem(code, 100, "elder-care", listed.coop, actor=listed.member, pin="4321").remaining_cents \
        == 19_900
    # Used once: the same code again is refused, for anyone.
    again = post_form(client, "/vouchers/activate", {"code": activation})
    assert again.status_code == 422 and "No letter waiting for activation" in again.get_data(as_text=True)
    letter = db.session.execute(select(Letter).where(Letter.activated_by_id == listed.citizen.id)).scalar_one()
    assert letter.activation_hash is None
    # An activated letter is not printed again.
    _result, reprint = _print(app, tmp_path, "again.pdf")
    assert len(reprint.pages) == 3 and code not in reprint.pages[0].extract_text()


def test_activation_is_throttled(app, listed, tmp_path):
    _result, pdf = _print(app, tmp_path)
    activation = _page_codes(pdf.pages[0])[1]
    for _ in range(letters.ACTIVATION_TRIES):
        with pytest.raises(Invalid):
            letters.activate(listed.citizen, "ABCD-EFGH-JKMN")
    with pytest.raises(Invalid) as locked:
        letters.activate(listed.citizen, activation)
    assert locked.value.code == "too_many_attempts"


def test_the_holder_cap_applies_at_activation(app, listed, tmp_path):
    _result, pdf = _print(app, tmp_path)
    listed.programme.max_open_cents_per_holder = 10_000
    db.session.commit()
    with pytest.raises(Invalid) as refused:
        letters.activate(listed.citizen, _page_codes(pdf.pages[0])[1])
    assert refused.value.code == "holder_cap_exceeded"


def test_the_budget_bounds_the_letters(app, listed, tmp_path):
    # Leave room for two letters of 200 € only.
    issuance.issue_voucher(listed.programme, listed.citizen, listed.programme.account.balance - 40_000,
                           actor=listed.official)
    result = app.test_cli_runner().invoke(
        args=["vouchers", "letters", "--programme", "home-care-2027", "--out", str(tmp_path / "two.pdf")])
    assert result.exit_code == 0 and "2 letters written" in result.output
    assert "2 people on the list got no letter" in result.output
    db.session.refresh(listed.programme.account)
    assert listed.programme.account.balance == 0
    assert ledger.verify().ok


def test_no_letter_to_print_is_said_and_no_file_is_left(app, city, tmp_path):
    out = tmp_path / "none.pdf"
    result = app.test_cli_runner().invoke(args=["vouchers", "letters", "--programme", "home-care-2027",
                                                "--out", str(out)])
    assert result.exit_code != 0 and "No letter to print" in result.output
    assert not out.exists() and not (tmp_path / "none.pdf.partial").exists()


def test_officials_download_the_letters_from_the_list_page(app, listed, client):
    login(client, listed.official.email)
    page = client.get("/vouchers/programmes/home-care-2027/eligibility").get_data(as_text=True)
    assert "Download the letters (PDF)" in page
    response = post_form(client, "/vouchers/programmes/home-care-2027/letters.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(response.data)).pages) == 4


def test_a_letter_that_would_spill_onto_a_second_page_stops_the_print(app, listed, tmp_path, monkeypatch):
    original = letter_documents.letter_html
    monkeypatch.setattr(letter_documents, "letter_html",
                        lambda letter, code: original(letter, code).replace('class="letter"', 'class="spill"')
                        .replace("</section>", '<div style="height: 300mm"></div></section>'))
    out = io.BytesIO()
    with pytest.raises(letter_documents.LetterOverflow):
        letters.print_letters(listed.programme, out, actor=listed.official)


def test_the_pdf_is_written_batch_by_batch(app, listed, tmp_path):
    out = io.BytesIO()
    assert letters.print_letters(listed.programme, out, actor=listed.official, batch=1)[0] == 4
    data = out.getvalue()
    pdf = PdfReader(io.BytesIO(data), strict=True)
    assert len(pdf.pages) == 4
    assert [len(_page_codes(p)) for p in pdf.pages] == [2, 2, 2, 2]
    # The cross-reference table points at each object exactly (a lenient reader would mend it unseen).
    start = int(data.rsplit(b"startxref", 1)[1].split()[0])
    lines = data[start:].split(b"trailer")[0].splitlines()
    assert lines[0] == b"xref" and lines[2] == b"0000000000 65535 f "
    for number, entry in enumerate(lines[3:], start=1):
        offset = int(entry.split()[0])
        assert data[offset:].startswith(b"%d 0 obj" % number), number



def test_of_people_activating_one_letter_at_once_one_gets_it(app, listed, tmp_path, make_user):
    """Six accounts type the same activation code at once, through the web: one gets the voucher, the
    others are refused with the message by the field, and the voucher has that one holder."""
    _result, pdf = _print(app, tmp_path)
    activation = _page_codes(pdf.pages[0])[1]
    people = [make_user() for _ in range(6)]
    clients = []
    for person in people:
        client = app.test_client()
        login(client, person.email)
        clients.append(client)
    db.session.commit()
    barrier, answers = threading.Barrier(6), []

    def worker(i):
        barrier.wait()
        answers.append(post_form(clients[i], "/vouchers/activate", {"code": activation}).status_code)

    at_once(6, worker)
    assert sorted(answers) == [302, 422, 422, 422, 422, 422]
    db.session.expire_all()
    voucher = db.session.execute(select(Voucher).where(Voucher.code == _page_codes(pdf.pages[0])[0])).scalar_one()
    assert voucher.holder_id in {p.id for p in people}


def test_a_person_verifying_while_letters_are_issued_gets_one_voucher(app, listed, make_user):
    """The letter's grant and the verified resident's grant are one row: whichever comes second
    issues nothing."""
    letters.issue_letters(listed.programme, actor=listed.official)
    person = make_user()
    assert eligibility.verify_resident(person, "X1234567A", date(1950, 3, 1)) == []
    assert db.session.execute(select(func.count()).select_from(Voucher)).scalar_one() == 4


@pytest.mark.parametrize("language,title", [("en", "Activate a voucher you received by post"),
                                            ("es", "Activar un bono recibido por correo"),
                                            ("it", "Attiva un buono ricevuto per posta"),
                                            ("ca", "Activa un bo rebut per correu")])
def test_the_activation_page_speaks_four_languages(app, listed, client, language, title):
    login(client, listed.citizen.email)
    page = client.get("/vouchers/activate", headers={"Accept-Language": language}).get_data(as_text=True)
    assert f'lang="{language}"' in page and title in page
    wrong = post_form(client, "/vouchers/activate", {"code": "nonsense"}, headers={"Accept-Language": language})
    assert wrong.status_code == 422


def test_officials_find_a_letters_voucher_without_a_holder(app, listed, client):
    letters.issue_letters(listed.programme, actor=listed.official)
    voucher = db.session.execute(select(Voucher).where(Voucher.holder_id.is_(None))).scalars().first()
    login(client, listed.official.email)
    found = client.get(f"/vouchers/programmes/home-care-2027?q={voucher.code}").get_data(as_text=True)
    assert voucher.code in found and "Sent by post, not yet activated" in found
    page = client.get(f"/vouchers/mine/{voucher.id}")
    assert page.status_code == 200 and "Sent by post, not yet activated" in page.get_data(as_text=True)
    client.get("/account/logout")
    login(client, listed.citizen.email)
    assert client.get(f"/vouchers/mine/{voucher.id}").status_code == 404


def test_someone_without_an_account_signs_up_then_activates(app, listed, tmp_path, client):
    _result, pdf = _print(app, tmp_path)
    activation = _page_codes(pdf.pages[0])[1]
    asked = client.get("/vouchers/activate")
    assert asked.status_code == 302 and "next=" in asked.headers["Location"]
    login_page = client.get(asked.headers["Location"]).get_data(as_text=True)
    register = re.search(r'href="(/account/register\?next=[^"]+)"', login_page).group(1).replace("&amp;", "&")
    joined = post_form(client, register, {"name": "Rosa Blu", "email": "rosa@example.org",
                                          "password": "a-long-password", "confirm": "a-long-password"})
    assert joined.status_code == 302 and joined.headers["Location"].endswith("/vouchers/activate")
    done = post_form(client, "/vouchers/activate", {"code": activation, "pin": "2468", "pin_again": "2468"})
    assert done.status_code == 302


def test_a_letters_qr_carries_the_offline_allowance_as_a_picture_the_pdf_holds(app, listed, tmp_path):
    """The QR on a letter is the voucher's code with its signed offline allowance, as on the
    voucher's own PDF (a desk without a connection checks it), drawn as a PNG: WeasyPrint draws
    an inline SVG QR several times slower, which a batch of 100,000 letters pays 100,000 times."""
    from vouchers import allowances
    from vouchers.documents import qr_png_uri
    allowances.set_offline_terms(listed.programme, allowance_cents=5000, sales_per_day=1, validity_days=7,
                                 risk_budget_cents=20000, actor=listed.official)
    db.session.commit()
    _result, pdf = _print(app, tmp_path)
    assert all(page.images for page in pdf.pages)
    letter = db.session.execute(select(Letter).order_by(Letter.id)).scalars().first()
    html = letter_documents.letter_html(letter, "ACTIVATION")
    signed = allowances.qr_text(letter.voucher)
    assert signed.startswith("PCV1.") and f'src="{qr_png_uri(signed)}"' in html and "<svg" not in html
