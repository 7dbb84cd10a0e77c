"""Co-ops' bank accounts and each settlement's SEPA credit transfer (issue #23)."""
import io
import os
import threading
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
import sepaxml
import xmlschema
from pypdf import PdfReader
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.database import utcnow
from app.errors import DomainError
from app.extensions import db
from app.notifications.models import OutboxEvent
from vouchers import bank, issuance, redemption, sepa, settlement
from vouchers.models import BankAccountStatus, Redemption, Settlement

from ..conftest import at_once, login, post_form

COOP_IBAN, COOP_BIC = "IT60 X054 2811 1010 0000 0123 456", "BPPIITRRXXX"
OTHER_IBAN, OTHER_BIC = "IT51 P020 0802 8020 0010 0012 345", "UNCRITMMXXX"
CITY = {"PROCOMUN_CITY_IBAN": "IT45 U030 6909 6061 0000 0063 245", "PROCOMUN_CITY_BIC": "BCITITMMXXX",
        "PROCOMUN_CITY_ACCOUNT_NAME": "Comune di Villanova"}
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}


@pytest.fixture
def city_account(app):
    app.config.update(CITY)


@pytest.fixture
def cleared(city):
    """Yesterday settled: La Tela redeemed 30.00 (10.00 of it refunded), Casa Comune 12.00."""
    from vouchers import refunds
    voucher = issuance.issue_voucher(city.programme, city.citizen, 10_000, actor=city.official)
    sales = [redemption.redeem(voucher.code, 3000, "elder-care", city.coop, actor=city.member),
             redemption.redeem(voucher.code, 1200, "elder-care", city.other, actor=city.other_member)]
    refunds.refund(sales[0].redemption_id, 1000, "a visit was shorter", actor=city.member)
    for sale in sales:
        db.session.get(Redemption, sale.redemption_id).at = utcnow() - timedelta(days=1)
    db.session.commit()
    yesterday = city.today - timedelta(days=1)
    return settlement.settle(yesterday, yesterday, actor=city.official)[0]


def _approved(city, organisation, requester, iban, bic, name):
    row = bank.request_account(organisation, iban, bic, name, actor=requester)
    return bank.approve_account(row.id, actor=city.official)


def _both_accounts(city):
    _approved(city, city.coop, city.member, COOP_IBAN, COOP_BIC, "La Tela Soc. Coop.")
    _approved(city, city.other, city.other_member, OTHER_IBAN, OTHER_BIC, "Casa Comune")


def test_an_iban_and_a_bic_are_checked_beside_their_fields(city):
    for iban, bic, field in (("IT60 X054 2811 1010 0000 0123 457", COOP_BIC, "iban"), ("IT60", COOP_BIC, "iban"),
                             (COOP_IBAN, "BPPI", "bic"), (COOP_IBAN, "DEUTDEFFXXX", "bic")):
        with pytest.raises(DomainError) as refused:
            bank.request_account(city.coop, iban, bic, "La Tela", actor=city.member)
        assert (refused.value.status, refused.value.field) == (422, field), (iban, bic)
    assert bank.pending_account(city.coop) is None


def test_a_change_waits_for_a_second_official_and_the_members_are_told(city, make_user):
    first = _approved(city, city.coop, city.member, COOP_IBAN, COOP_BIC, "La Tela")
    assert bank.current_account(city.coop).id == first.id and first.iban == COOP_IBAN.replace(" ", "")
    change = bank.request_account(city.coop, OTHER_IBAN, OTHER_BIC, "La Tela", actor=city.official)
    assert bank.current_account(city.coop).id == first.id  # nothing changes before the approval
    with pytest.raises(DomainError) as refused:
        bank.approve_account(change.id, actor=city.official)  # the official who asked for it
    assert (refused.value.status, refused.value.code) == (403, "same_person")
    official_member = make_user(Role.OFFICIAL, email="official-member@example.org", organisations=[city.coop])
    with pytest.raises(DomainError):
        bank.approve_account(change.id, actor=official_member)  # a member of the co-op
    with pytest.raises(DomainError):
        bank.approve_account(change.id, actor=city.member)  # not an official
    second = make_user(Role.OFFICIAL, email="second@example.org")
    bank.approve_account(change.id, actor=second)
    assert bank.current_account(city.coop).iban == OTHER_IBAN.replace(" ", "")
    assert db.session.get(type(first), first.id).status == BankAccountStatus.SUPERSEDED
    with pytest.raises(DomainError) as again:
        bank.approve_account(change.id, actor=second)
    assert again.value.code == "not_pending"
    kinds = db.session.execute(select(OutboxEvent.kind).order_by(OutboxEvent.id)).scalars().all()
    assert kinds.count("voucher.bank_account_requested") == 2 and kinds.count("voucher.bank_account_approved") == 2
    actions = db.session.execute(select(AuditEntry.action)).scalars().all()
    assert actions.count("voucher_bank_account.approved") == 2


def test_no_file_while_a_coop_has_no_approved_account(city, cleared, city_account):
    _approved(city, city.coop, city.member, COOP_IBAN, COOP_BIC, "La Tela")
    bank.request_account(city.other, OTHER_IBAN, OTHER_BIC, "Casa Comune", actor=city.other_member)  # not approved
    with pytest.raises(sepa.CannotPay) as refused:
        sepa.settlement_file(cleared.id, actor=city.official)
    assert refused.value.code == "no_bank_account" and "Casa Comune" in str(refused.value)
    assert "La Tela" not in str(refused.value)
    assert db.session.get(Settlement, cleared.id).sepa_file is None


def test_no_file_without_the_citys_own_account(city, cleared, app):
    _both_accounts(city)
    app.config["PROCOMUN_CITY_IBAN"] = ""
    with pytest.raises(sepa.CannotPay) as refused:
        sepa.settlement_file(cleared.id, actor=city.official)
    assert refused.value.code == "no_city_account"


def test_the_file_validates_sums_to_the_statement_and_is_the_same_bytes_every_time(city, cleared, city_account):
    _both_accounts(city)
    content = sepa.settlement_file(cleared.id, actor=city.official)
    schema = xmlschema.XMLSchema(os.path.join(os.path.dirname(sepaxml.__file__), "schemas", "pain.001.001.03.xsd"))
    schema.validate(content.decode())
    root = ET.fromstring(content)
    assert root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", NS).text == "2"
    assert root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", NS).text == "32.00" == f"{cleared.total_cents / 100:.2f}"
    payments = root.findall(".//p:CdtTrfTxInf", NS)
    paid = {tx.find("p:CdtrAcct/p:Id/p:IBAN", NS).text: tx.find("p:Amt/p:InstdAmt", NS).text for tx in payments}
    assert paid == {COOP_IBAN.replace(" ", ""): "20.00", OTHER_IBAN.replace(" ", ""): "12.00"}
    assert {tx.find("p:PmtId/p:EndToEndId", NS).text for tx in payments} == {cleared.reference}
    assert root.find(".//p:Dbtr/p:Nm", NS).text == "Comune di Villanova"
    # A later change of a co-op's account never changes a file already made.
    change = bank.request_account(city.coop, OTHER_IBAN, OTHER_BIC, "La Tela", actor=city.member)
    bank.approve_account(change.id, actor=city.official)
    assert sepa.settlement_file(cleared.id, actor=city.official) == content
    assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "voucher_settlement.sepa_file")
                              ).scalar_one()


def test_the_cli_writes_the_same_bytes_every_time(city, cleared, city_account, app, tmp_path):
    _both_accounts(city)
    files = []
    for n in range(2):
        out = tmp_path / f"transfer-{n}.xml"
        result = app.test_cli_runner().invoke(args=["vouchers", "settlement-file", str(cleared.id), "--out", str(out)])
        assert result.exit_code == 0, result.output
        files.append(out.read_bytes())
    assert files[0] == files[1] and b"pain.001.001.03" in files[0]
    refused = app.test_cli_runner().invoke(args=["vouchers", "settlement-file", "999999", "--out",
                                                 str(tmp_path / "none.xml")])
    assert refused.exit_code != 0 and "No such settlement" in refused.output


def test_marking_paid_records_the_banks_day_once(city, cleared, city_account):
    with pytest.raises(DomainError) as refused:
        sepa.mark_paid(cleared.id, city.today, actor=city.official)
    assert refused.value.code == "no_file"
    _both_accounts(city)
    sepa.settlement_file(cleared.id, actor=city.official)
    with pytest.raises(DomainError) as future:
        sepa.mark_paid(cleared.id, city.today + timedelta(days=1), actor=city.official)
    assert future.value.field == "paid_on" and future.value.status == 422
    sepa.mark_paid(cleared.id, city.today, actor=city.official)
    assert db.session.get(Settlement, cleared.id).paid_on == city.today
    with pytest.raises(DomainError) as twice:
        sepa.mark_paid(cleared.id, city.today, actor=city.official)
    assert twice.value.code == "already_paid"


def test_the_statement_pdf_carries_the_transfers_reference(city, cleared, client):
    login(client, "member@example.org")
    pdf = client.get(f"/vouchers/settlements/{cleared.id}/la-tela.pdf")
    assert pdf.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert cleared.reference in text
    rows = client.get(f"/vouchers/settlements/{cleared.id}/la-tela.csv").get_data(as_text=True).splitlines()
    assert rows[0].endswith("amount_cents,refunded_cents,offline_sale_id,paid_from")
    assert rows[1].endswith(",3000,1000,,voucher")


# Pages --------------------------------------------------------------------------------------

def test_a_member_registers_the_account_and_an_official_approves_it_on_the_web(city, client, make_user):
    login(client, "member@example.org")
    bad = post_form(client, "/vouchers/desk/bank-account",
                    {"organisation": "la-tela", "holder_name": "La Tela", "iban": "IT60 X054", "bic": COOP_BIC})
    assert bad.status_code == 422 and "This IBAN is not valid" in bad.get_data(as_text=True)
    done = post_form(client, "/vouchers/desk/bank-account",
                     {"organisation": "la-tela", "holder_name": "La Tela", "iban": COOP_IBAN, "bic": COOP_BIC})
    assert done.status_code == 302
    assert "waiting for an official" in client.get("/vouchers/desk/bank-account").get_data(as_text=True)
    assert client.post("/vouchers/desk/bank-account", data={"holder_name": "x"}).status_code == 400  # no CSRF
    pending = bank.pending_account(city.coop)
    client.get("/account/logout")
    official = client.application.test_client()
    login(official, "official@example.org")
    assert "La Tela" in official.get("/vouchers/bank-accounts").get_data(as_text=True)
    assert post_form(official, f"/vouchers/bank-accounts/{pending.id}/approve").status_code == 302
    assert bank.current_account(city.coop).id == pending.id


def test_the_settlement_page_says_what_is_missing_then_gives_the_file_and_takes_the_paid_day(city, cleared, client,
                                                                                          city_account):
    login(client, "official@example.org")
    url = f"/vouchers/settlements/{cleared.id}"
    page = client.get(url).get_data(as_text=True)
    assert "no approved bank account" in page and "Casa Comune, La Tela." in page and cleared.reference in page
    refused = client.get(f"{url}/transfer.xml")
    assert refused.status_code == 302
    assert client.get(url).get_data(as_text=True).count("Casa Comune, La Tela.") == 2  # the refusal, flashed
    _both_accounts(city)
    first, second = client.get(f"{url}/transfer.xml"), client.get(f"{url}/transfer.xml")
    assert first.status_code == 200 and first.mimetype == "application/xml" and first.data == second.data
    future = post_form(client, f"{url}/paid", {"paid_on": (city.today + timedelta(days=2)).isoformat()})
    assert future.status_code == 422 and "day still to come" in future.get_data(as_text=True)
    assert post_form(client, f"{url}/paid", {"paid_on": city.today.isoformat()}).status_code == 302
    assert db.session.get(Settlement, cleared.id).paid_on == city.today


def test_a_settlement_across_many_coops_names_the_first_unpaid_and_counts_the_others(app, city, cleared):
    """A thousand co-ops without an account would make a page of names: the first few, alphabetical, and
    a count of the rest, read in one statement, on the page and in the refusal of the file alike."""
    from flask_babel import force_locale
    assert sepa.unpaid(cleared) == (2, ["Casa Comune", "La Tela"])
    count, names = sepa.unpaid(cleared, named=1)
    assert (count, names) == (2, ["Casa Comune"])
    with app.test_request_context(), force_locale("en"):
        assert str(sepa.unpaid_reason(count, names)).endswith(": Casa Comune and 1 more.")
        with force_locale("it"):
            assert str(sepa.unpaid_reason(count, names)).endswith(": Casa Comune e un'altra.")
            assert str(sepa.unpaid_reason(5, names)).endswith(": Casa Comune e altre 4.")
        assert str(sepa.unpaid_reason(*sepa.unpaid(cleared))).endswith(": Casa Comune, La Tela.")
    _approved(city, city.other, city.other_member, OTHER_IBAN, OTHER_BIC, "Casa Comune")
    assert sepa.unpaid(cleared) == (1, ["La Tela"])
    _approved(city, city.coop, city.member, COOP_IBAN, COOP_BIC, "La Tela Soc. Coop.")
    assert sepa.unpaid(cleared) == (0, [])


def test_a_coop_member_cannot_reach_the_file_nor_approve(city, cleared, client):
    login(client, "member@example.org")
    assert client.get(f"/vouchers/settlements/{cleared.id}/transfer.xml").status_code == 403
    row = bank.request_account(city.coop, COOP_IBAN, COOP_BIC, "La Tela", actor=city.member)
    assert post_form(client, f"/vouchers/bank-accounts/{row.id}/approve").status_code == 403
    assert bank.current_account(city.coop) is None


def test_an_official_turns_a_request_down_with_the_reason_the_coop_is_told(city, client, make_user):
    first = _approved(city, city.coop, city.member, COOP_IBAN, COOP_BIC, "La Tela")
    change = bank.request_account(city.coop, OTHER_IBAN, OTHER_BIC, "Someone Else", actor=city.member)
    with pytest.raises(DomainError) as refused:
        bank.reject_account(change.id, "not the co-op's", actor=city.member)  # the co-op cannot decide
    assert refused.value.status == 403
    with pytest.raises(DomainError) as refused:
        bank.reject_account(change.id, "   ", actor=city.official)
    assert (refused.value.status, refused.value.field) == (422, "reason")
    bank.reject_account(change.id, "The holder is not the co-op", actor=city.official)
    assert bank.current_account(city.coop).id == first.id  # still paid where it was
    assert bank.pending_account(city.coop) is None and bank.last_rejection(city.coop).id == change.id
    for decide in (lambda: bank.approve_account(change.id, actor=make_user(Role.OFFICIAL, email="o2@example.org")),
                   lambda: bank.reject_account(change.id, "again", actor=city.official)):
        with pytest.raises(DomainError) as again:
            decide()
        assert (again.value.status, again.value.code) == (409, "not_pending")
    notice = db.session.execute(select(OutboxEvent).where(OutboxEvent.kind == "voucher.bank_account_rejected")
                                ).scalar_one()
    assert notice.context["reason"] == "The holder is not the co-op"
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "voucher_bank_account.rejected")
                               ).scalar_one()
    assert entry.actor_id == city.official.id
    # The co-op's page says so; a new request replaces the message.
    login(client, "member@example.org")
    page = client.get("/vouchers/desk/bank-account").get_data(as_text=True)
    assert "was not approved: The holder is not the co-op" in page
    bank.request_account(city.coop, OTHER_IBAN, OTHER_BIC, "La Tela", actor=city.member)
    assert bank.last_rejection(city.coop) is None


def test_the_web_form_turns_down_and_keeps_a_missing_reason_beside_its_field(city, client):
    change = bank.request_account(city.coop, COOP_IBAN, COOP_BIC, "La Tela", actor=city.member)
    db.session.commit()
    url = f"/vouchers/bank-accounts/{change.id}/reject"
    login(client, "member@example.org")
    assert post_form(client, url, {"reason": "mine"}).status_code == 403
    client.get("/account/logout")
    login(client, "official@example.org")
    empty = post_form(client, url, {"reason": ""}, headers={"Accept-Language": "es"})
    assert empty.status_code == 422
    assert f'id="reject-reason-{change.id}-error"' in empty.get_data(as_text=True)
    assert bank.pending_account(city.coop).id == change.id
    assert client.post(url, data={"reason": "no token"}).status_code == 400
    done = post_form(client, url, {"reason": "IBAN not confirmed by phone"})
    assert done.status_code == 302
    assert "not approved" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert bank.last_rejection(city.coop).rejection_reason == "IBAN not confirmed by phone"


def test_an_approval_and_a_rejection_at_once_decide_once(city, app, make_user, backend):
    change = bank.request_account(city.coop, COOP_IBAN, COOP_BIC, "La Tela", actor=city.member)
    second = make_user(Role.OFFICIAL, email="second@example.org")
    ids = (change.id, city.official.id, second.id)
    db.session.commit()
    barrier, outcomes = threading.Barrier(2), []

    def worker(i):
        with app.app_context():
            from app.accounts.models import User
            actor = db.session.get(User, ids[1 + i])
            barrier.wait()
            try:
                if i == 0:
                    bank.reject_account(ids[0], "not confirmed", actor=actor)
                else:
                    bank.approve_account(ids[0], actor=actor)
                outcomes.append("done")
            except DomainError as error:
                outcomes.append(error.code)
            finally:
                db.session.remove()

    at_once(2, worker)
    db.session.expire_all()
    assert sorted(outcomes) == ["done", "not_pending"], outcomes
    row = db.session.get(type(change), change.id)
    assert row.status in (BankAccountStatus.APPROVED, BankAccountStatus.REJECTED)
    assert (row.approved_by_id is None) != (row.rejected_by_id is None)
