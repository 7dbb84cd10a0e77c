"""A person's own history (a holder's movements, a co-op's redemptions, a settlement's lines) pages
by keyset: every row once, newest first, and a deep page costs the statements the first one does
(issue #25)."""
import re
from datetime import timedelta

from app.database import utcnow
from app.extensions import db
from app.paging import parse_cursor
from vouchers import issuance, ledger, redemption, settlement, staging
from vouchers.models import Redemption

from ..conftest import login, statements_run


def _walk(read, per_page):
    """Every page from the newest through the oldest, then back through the newer links."""
    pages = [read(per_page=per_page)]
    while pages[-1].older:
        pages.append(read(before=pages[-1].older, per_page=per_page))
    back = [pages[-1]]
    while back[-1].newer:
        back.append(read(after=back[-1].newer, per_page=per_page))
    return pages, back


def test_a_holders_movements_page_newest_first_each_once_and_back(city):
    vouchers = [issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official) for _ in range(3)]
    for n in range(7):
        redemption.redeem(vouchers[n % 3].code, 100 + n, "elder-care", city.coop, actor=city.member)
    accounts = [v.account_id for v in vouchers]
    pages, back = _walk(lambda **place: ledger.movements(accounts, **place), 4)
    lines = [m for page in pages for m in page.items]
    assert [len(page.items) for page in pages] == [4, 4, 2]
    assert [(m.id, m.credit_account_id) for m in lines] == sorted(
        {(m.id, m.credit_account_id) for m in lines}, reverse=True)   # newest first, none twice
    assert [m.amount for m in lines[:7]] == [106, 105, 104, 103, 102, 101, 100]
    assert [m.items for m in back[::-1]] == [p.items for p in pages]  # the newer links lead back


def test_a_batchs_lines_of_one_holder_are_not_split_nor_lost_between_pages(city, monkeypatch):
    """Vouchers of one batch share their entry's id: the cursor is (entry, voucher account)."""
    import io
    monkeypatch.setattr(staging, "ISSUE_ROWS", 2)
    until = (city.today + timedelta(days=30)).isoformat()
    lines = io.StringIO("holder_email,amount_cents,valid_until\n" + "".join(
        f"{city.citizen.email},{100 + n},{until}\n" for n in range(5)))
    issuance.issue_batch(lines, city.programme, actor=city.official)
    from vouchers.holders import holder_accounts
    accounts = [a.id for a in holder_accounts(city.citizen)]
    pages, _back = _walk(lambda **place: ledger.movements(accounts, **place), 2)
    seen = [(m.id, m.credit_account_id, m.amount) for page in pages for m in page.items]
    assert len(seen) == len(set(seen)) == 5 and {m[2] for m in seen} == {100, 101, 102, 103, 104}
    assert len({m[0] for m in seen}) == 1   # one entry, five lines


def test_a_malformed_cursor_is_the_newest_page():
    assert parse_cursor("12.3", 2) == (12, 3) and parse_cursor("12", 1) == (12,)
    for bad in (None, "", "x", "-1", "1.2", "1" * 19, "1..2"):
        assert parse_cursor(bad, 1) is None


def _statements(client, url):
    client.get(url)   # warm the caches
    with statements_run() as seen:
        page = client.get(url)
    assert page.status_code == 200, page.status_code
    return len(seen), page.get_data(as_text=True)


def test_the_desk_and_the_holders_page_cost_the_same_with_a_long_history(city, app, monkeypatch):
    monkeypatch.setattr(redemption.organisation_redemptions, "__kwdefaults__",
                        {**redemption.organisation_redemptions.__kwdefaults__, "per_page": 5})
    monkeypatch.setattr(ledger.movements, "__kwdefaults__", {**ledger.movements.__kwdefaults__, "per_page": 5})
    voucher = issuance.issue_voucher(city.programme, city.citizen, 100_000, actor=city.official)
    redemption.redeem(voucher.code, 100, "elder-care", city.coop, actor=city.member)
    member, holder = app.test_client(), app.test_client()
    login(member, city.member.email)
    login(holder, city.citizen.email)
    short = {url: _statements(client, url)[0] for client, url in ((member, "/vouchers/desk"),
                                                                   (holder, "/vouchers/mine"))}
    for n in range(40):
        redemption.redeem(voucher.code, 10 + n, "elder-care", city.coop, actor=city.member)
    for client, url in ((member, "/vouchers/desk"), (holder, "/vouchers/mine")):
        count, html = _statements(client, url)
        assert count == short[url], url
        older = re.search(r'href="[^"]*before=([0-9.]+)', html).group(1)
        deep_count, deep = _statements(client, f"{url}?before={older}")
        assert deep_count == short[url] and 'rel="prev"' in deep and "after=" in deep, url
        assert _statements(client, f"{url}?before=nonsense")[0] == short[url]


def test_a_settlements_lines_page_by_keyset(city, make_org, make_user, monkeypatch):
    from app.accounts.models import Role
    from app.organisations import operations as organisations
    voucher = issuance.issue_voucher(city.programme, city.citizen, 100_000, actor=city.official)
    for n in range(5):
        coop = make_org(f"coop-{n}", name=f"Coop {n}")
        organisations.accredit(coop, city.care, city.today + timedelta(days=365), met_all=True)
        member = make_user(Role.ORG_MEMBER, email=f"m{n}@example.org", organisations=[coop])
        result = redemption.redeem(voucher.code, 100 + n, "elder-care", coop, actor=member)
        db.session.get(Redemption, result.redemption_id).at = utcnow() - timedelta(days=2)
    db.session.commit()
    paid, _created = settlement.settle(city.today - timedelta(days=3), city.today - timedelta(days=1),
                                       actor=city.official)
    pages, back = _walk(lambda **place: settlement.settlement_lines(paid, **place), 2)
    assert [line.amount_cents for page in pages for line in page.items] == [104, 103, 102, 101, 100]
    assert [p.items for p in back[::-1]] == [p.items for p in pages]


def test_the_settlement_page_shows_a_page_of_lines_and_links_on(city, make_org, make_user, app, monkeypatch):
    from app.accounts.models import Role
    from app.organisations import operations as organisations
    monkeypatch.setattr(settlement.settlement_lines, "__kwdefaults__",
                        {**settlement.settlement_lines.__kwdefaults__, "per_page": 2})
    voucher = issuance.issue_voucher(city.programme, city.citizen, 100_000, actor=city.official)
    for n in range(3):
        coop = make_org(f"coop-{n}", name=f"Coop {n}")
        organisations.accredit(coop, city.care, city.today + timedelta(days=365), met_all=True)
        member = make_user(Role.ORG_MEMBER, email=f"m{n}@example.org", organisations=[coop])
        result = redemption.redeem(voucher.code, 100 + n, "elder-care", coop, actor=member)
        db.session.get(Redemption, result.redemption_id).at = utcnow() - timedelta(days=2)
    db.session.commit()
    paid, _created = settlement.settle(city.today - timedelta(days=3), city.today - timedelta(days=1),
                                       actor=city.official)
    official = app.test_client()
    login(official, city.official.email)
    url = f"/vouchers/settlements/{paid.id}"
    count, first = _statements(official, url)

    def table(html):
        return html[html.index("<table"):html.index("</table>")]
    assert "Coop 2" in table(first) and "Coop 1" in table(first) and "Coop 0" not in table(first)
    older = re.search(r'href="[^"]*before=([0-9.]+)"', first).group(1)
    deep_count, second = _statements(official, f"{url}?before={older}")
    assert "Coop 0" in table(second) and "Coop 2" not in table(second) and deep_count == count


def test_the_numbered_pages_older_api_clients_ask_for_still_answer(city, api_client, monkeypatch):
    """A till written before the cursors asks `?page=2` and reads `pages` (and `total`): the same rows
    the cursors give, and the counts, only when asked."""
    vouchers = [issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official) for _ in range(2)]
    for n in range(120):
        redemption.redeem(vouchers[n % 2].code, 10 + n, "elder-care", city.coop, actor=city.member)
    till, headers = api_client(city.member)
    first = till.get("/api/v1/vouchers/organisation", headers=headers).get_json()
    assert first["page"] == 1 and "pages" not in first and len(first["redemptions"]) == 50
    second = till.get("/api/v1/vouchers/organisation?page=2", headers=headers).get_json()
    by_cursor = till.get(f"/api/v1/vouchers/organisation?before={first['older']}", headers=headers).get_json()
    assert second["redemptions"] == by_cursor["redemptions"] and (second["page"], second["pages"]) == (2, 3)
    last = till.get("/api/v1/vouchers/organisation?page=3", headers=headers).get_json()
    assert len(last["redemptions"]) == 20 and last["older"] is None
    assert till.get("/api/v1/vouchers/organisation?page=0", headers=headers).status_code == 422
    holder, holder_headers = api_client(city.citizen)
    moved = holder.get("/api/v1/vouchers/movements?page=2", headers=holder_headers).get_json()
    newest = holder.get("/api/v1/vouchers/movements", headers=holder_headers).get_json()
    assert moved["total"] == 122 and moved["pages"] == 3 and "total" not in newest   # 2 issues, 120 sales
    assert moved["movements"] == holder.get(f"/api/v1/vouchers/movements?before={newest['older']}",
                                            headers=holder_headers).get_json()["movements"]


def test_a_holders_accounts_are_found_by_index_not_by_reading_every_account(city, backend):
    """`holder_accounts` runs on every page of a holder's history: its plan must not read the whole
    accounts table (an OR across user_id and the vouchers' accounts did, on PostgreSQL)."""
    from vouchers.holders import holder_accounts

    from ..conftest import query_plan
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    with statements_run(with_parameters=True) as seen:
        found = holder_accounts(city.citizen)
    assert voucher.account_id in {a.id for a in found}
    [(statement, parameters)] = [(s, p) for s, p in seen if "voucher_accounts" in s]
    plan = query_plan(statement, parameters, backend)
    if backend == "sqlite":
        assert "SCAN voucher_accounts" not in plan, plan
    else:
        assert "ix_voucher_accounts_user_id" in plan and "Seq Scan on voucher_accounts" not in plan, plan
