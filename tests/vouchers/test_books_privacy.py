"""Whose a transfer's bytes are: anyone may prove that a transfer is in the city's signed books,
from its leaf hash, but what it says (who paid whom how much, and when: personal data about the
holders of social vouchers) goes to its parties alone — the voucher's holder, the members of the
organisation whose account it moves — and to officials. Anyone else is told only "not found"."""
import base64
import csv
import json

import pytest
from sqlalchemy import select

from app.books import merkle
from app.books import operations as books
from app.errors import NotFound
from app.extensions import db
from vouchers import holders, issuance, redemption
from vouchers.models import Redemption, Transfer

from ..conftest import login

# What a leaf says, as its canonical JSON writes it: none of it may reach an anonymous answer.
LEAF_KEYS = ('"amount"', '"debit"', '"credit"', '"currency"', '"reverses"', '"kind"')


def _sale(city):
    """A voucher of 50.00 for the citizen, a sale of 7.35 at the co-op, and a checkpoint."""
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    redemption.redeem(voucher.code, 735, "elder-care", city.coop, actor=city.member)
    books.checkpoint()
    sale = db.session.execute(select(Redemption.transfer_id).where(Redemption.voucher_id == voucher.id)).scalar_one()
    return voucher, db.session.get(Transfer, sale)


def _no_leaf_bytes(body: str) -> None:
    """Neither a leaf's JSON keys nor the sale's amount (base64 has neither '.' nor ',')."""
    for key in LEAF_KEYS:
        assert key not in body
    assert "7.35" not in body and "7,35" not in body


def test_anonymous_answers_carry_hashes_and_proofs_never_a_transfers_bytes(city, client):
    _voucher, sale = _sale(city)
    size = books.latest_checkpoint().ledger_size
    proof = client.get(f"/api/v1/books/proofs/inclusion?leaf={sale.id}&size={size}")
    assert proof.status_code == 200 and "public" in proof.headers["Cache-Control"]
    body = proof.get_json()
    assert set(body) == {"log", "leaf", "index", "size", "leaf_hash", "proof"}
    assert len(base64.b64decode(body["leaf_hash"])) == 32
    _no_leaf_bytes(proof.get_data(as_text=True))
    leaves = client.get("/api/v1/books/leaves?start=0&count=1000")
    assert leaves.status_code == 200
    assert all(set(leaf) == {"index", "leaf", "leaf_hash"} for leaf in leaves.get_json())
    _no_leaf_bytes(leaves.get_data(as_text=True))
    _no_leaf_bytes(client.get("/open-data/checkpoints.json").get_data(as_text=True))
    page = client.get(f"/books/transfers/{sale.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and body["leaf_hash"] in html
    _no_leaf_bytes(html)
    assert "Redemption" not in html and f"/books/transfers/{sale.id}/leaf\"" not in html
    # The public leaf hash is the hash of the bytes the parties read: proofs check them.
    assert base64.b64decode(body["leaf_hash"]) == merkle.leaf_hash(books.party_leaf("ledger", sale.id, city.official))


def test_the_parties_and_officials_get_the_bytes_a_stranger_gets_404(city, app, make_user, api_client):
    voucher, sale = _sale(city)
    stranger = make_user(email="stranger@example.org")
    expected = books.party_leaf("ledger", sale.id, city.official)
    fields = json.loads(expected)
    assert (fields["id"], fields["amount"], fields["kind"]) == (sale.id, 735, "redeem")
    for user, allowed in ((city.citizen, True), (city.member, True), (city.official, True),
                          (city.other_member, False), (stranger, False)):
        browser = app.test_client()
        login(browser, user.email)
        page = browser.get(f"/books/transfers/{sale.id}/leaf")
        client, headers = api_client(user)
        answer = client.get(f"/api/v1/books/transfers/{sale.id}/leaf", headers=headers)
        if allowed:
            assert page.status_code == 200 and page.get_data() == expected, user.email
            assert "attachment" in page.headers["Content-Disposition"]
            assert "no-store" in page.headers["Cache-Control"]
            assert answer.status_code == 200 and answer.get_data() == expected, user.email
            assert "no-store" in answer.headers["Cache-Control"]
        else:
            # As for an id that does not exist: a stranger cannot tell.
            assert page.status_code == 404, user.email
            assert answer.status_code == 404 and answer.get_json()["error"], user.email
            assert b'"amount"' not in page.get_data() + answer.get_data()
    missing = api_client(city.official)
    assert missing[0].get(f"/api/v1/books/transfers/{sale.id + 1000}/leaf", headers=missing[1]).status_code == 404
    # Signed out: the sign-in page, or 401 without a token; never the bytes.
    anonymous = app.test_client()
    assert anonymous.get(f"/books/transfers/{sale.id}/leaf").status_code == 302
    assert anonymous.get(f"/api/v1/books/transfers/{sale.id}/leaf").status_code == 401
    # The voucher's issue is the holder's too, and the holder's movements link to each leaf.
    browser = app.test_client()
    login(browser, city.citizen.email)
    issue = db.session.execute(select(Transfer.id).where(Transfer.credit_account_id == voucher.account_id)
                               ).scalars().first()
    assert browser.get(f"/books/transfers/{issue}/leaf").status_code == 200
    mine = browser.get(f"/vouchers/mine/{voucher.id}").get_data(as_text=True)
    assert f"/books/transfers/{sale.id}/leaf" in mine
    assert f"/books/transfers/{sale.id}/leaf" in browser.get("/vouchers/mine").get_data(as_text=True)


def test_the_openapi_document_says_the_bytes_are_the_parties(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/books/transfers/{transfer_id}/leaf" in spec["paths"]
    inclusion = json.dumps(spec["components"]["schemas"]["Inclusion"])
    assert "leaf_data" not in inclusion and "never public" in inclusion


def test_a_batch_entry_is_each_of_its_holders_and_a_settlement_its_co_ops(city, tmp_path, make_user):
    """The rule itself (ledger.transfer_party through books.party_leaf): a batch's holders read
    its entry (their line is in it), the co-op's members read the sale and nobody else does."""
    path = tmp_path / "batch.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(issuance.BATCH_HEADER)
        writer.writerows([[city.citizen.email, "1200", ""], ["new@example.org", "800", ""]])
    with open(path) as lines:
        issuance.issue_batch(lines, city.programme, actor=city.official, unknown_holders="invite")
    db.session.commit()
    mine = holders.holder_vouchers(city.citizen)[0]
    entry = mine.issue_transfer_id
    assert json.loads(books.party_leaf("ledger", entry, city.citizen))["amount"] == 2000
    redemption.redeem(mine.code, 200, "elder-care", city.coop, actor=city.member)
    sale = db.session.execute(select(Redemption.transfer_id).where(Redemption.voucher_id == mine.id)).scalar_one()
    assert json.loads(books.party_leaf("ledger", sale, city.member))["id"] == sale
    for user, transfer_id in ((city.member, entry), (city.other_member, sale), (make_user(), sale), (None, sale)):
        with pytest.raises(NotFound):
            books.party_leaf("ledger", transfer_id, user)


def test_a_sweep_for_other_peoples_transfers_stops_and_an_officials_look_is_audited(city, app, make_user,
                                                                                    api_client):
    from app.audit.models import AuditEntry
    _voucher, sale = _sale(city)
    stranger = make_user(email="sweeper@example.org")
    client, headers = api_client(stranger)
    answers = [client.get(f"/api/v1/books/transfers/{sale.id + n}/leaf", headers=headers).status_code
               for n in range(books.LEAF_MISSES + 2)]
    assert set(answers[:books.LEAF_MISSES]) == {404}  # the sale itself is not theirs either
    assert answers[-2:] == [429, 429]
    refused = client.get(f"/api/v1/books/transfers/{sale.id}/leaf", headers=headers)
    assert refused.status_code == 429 and refused.get_json()["error"] == "too_many_requests"
    browser = app.test_client()
    login(browser, stranger.email)
    assert browser.get(f"/books/transfers/{sale.id}/leaf").status_code == 429
    # The holder's own reads are neither counted nor audited; an official's are audited.
    before = db.session.execute(select(AuditEntry.id).where(AuditEntry.action == "books.leaf_read")).all()
    for _ in range(3):
        books.party_leaf("ledger", sale.id, city.citizen)
    assert db.session.execute(select(AuditEntry.id).where(AuditEntry.action == "books.leaf_read")).all() == before
    books.party_leaf("ledger", sale.id, city.official)
    read = db.session.execute(select(AuditEntry).where(AuditEntry.action == "books.leaf_read")).scalar_one()
    assert (read.actor_id, read.object_type, read.object_id) == (city.official.id, "voucher_transfers", str(sale.id))
