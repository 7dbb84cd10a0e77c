"""A person's own history at any length (issue #25): its pages run the same statements for 10 rows
as for 200, walking them by their links gives every row once in order even when rows share a
timestamp, and nobody pages into another person's or co-op's history."""
import re
from datetime import timedelta
from html import unescape

from app.database import utcnow
from app.extensions import db
from vouchers import issuance, ledger, redemption, settlement, time_credits
from vouchers.models import Account, AccountKind, Currency, Redemption

from ..conftest import login, statements_run

OLDER = re.compile(r'<a href="([^"]+)" rel="next">')


def _as(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def _statements(client, url, headers=None):
    client.get(url, headers=headers)   # warm the caches
    with statements_run() as seen:
        answer = client.get(url, headers=headers)
    assert answer.status_code == 200, (url, answer.status_code)
    return len(seen)


def _history(city, sales: int, hours: int):
    """The citizen's voucher redeemed `sales` times at the co-op, and `hours` of care it recorded for them."""
    voucher = issuance.issue_voucher(city.programme, city.citizen, 100_000, actor=city.official)
    for n in range(sales):
        redemption.redeem(voucher.code, 10 + n, "elder-care", city.coop, actor=city.member)
    for n in range(hours):
        time_credits.record_time(city.citizen, 5, city.other if n % 2 else city.coop,
                                 actor=city.other_member if n % 2 else city.member, note=f"visit {n}")
    return voucher


def test_a_history_page_runs_the_same_statements_for_10_rows_as_for_200(app, city, api_client):
    voucher = _history(city, 6, 4)
    holder, member, official = _as(app, city.citizen), _as(app, city.member), _as(app, city.official)
    holder_api, holder_headers = api_client(city.citizen)
    member_api, member_headers = api_client(city.member)
    coop_account = db.session.execute(db.select(Account.id).where(Account.key == ledger.account_key(
        AccountKind.ORGANISATION, Currency.VOUCHER, city.coop.id))).scalar_one()
    pages = [(holder, "/vouchers/mine", None), (holder, f"/vouchers/mine/{voucher.id}", None),
             (member, "/vouchers/desk", None), (official, f"/vouchers/accounts/{coop_account}", None),
             (holder_api, "/api/v1/vouchers/movements", holder_headers),
             (member_api, "/api/v1/vouchers/organisation", member_headers)]
    short = [_statements(client, url, headers) for client, url, headers in pages]
    for n in range(150):
        redemption.redeem(voucher.code, 1, "elder-care", city.coop, actor=city.member)
    for n in range(40):   # care at two co-ops: each line names its co-op (one read for the page, not one each)
        time_credits.record_time(city.citizen, 5, city.other if n % 2 else city.coop,
                                 actor=city.other_member if n % 2 else city.member, note=f"visit {n}")
    assert [_statements(client, url, headers) for client, url, headers in pages] == short


def test_walking_the_desk_by_its_links_gives_each_sale_once_even_at_one_instant(app, city, monkeypatch):
    """The browser's way through: the Older links to the oldest, then the Newer ones back, every sale
    once and newest first, though all happened at the same instant (the key is the id, not the time)."""
    monkeypatch.setattr(redemption.organisation_redemptions, "__kwdefaults__",
                        {**redemption.organisation_redemptions.__kwdefaults__, "per_page": 4})
    _history(city, 11, 0)
    instant = utcnow() - timedelta(hours=1)
    for row in db.session.execute(db.select(Redemption)).scalars():
        row.at = instant
    db.session.commit()
    member = _as(app, city.member)
    expected = sorted(db.session.execute(db.select(Redemption.id)).scalars(), reverse=True)

    def sales(html):   # the sales' numbers, as the table lists them
        return [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", html)]
    url, seen, pages = "/vouchers/desk", [], []
    while url:
        html = member.get(url).get_data(as_text=True)
        pages.append(html)
        seen += sales(html)
        link = OLDER.search(html)
        url = unescape(link.group(1)) if link else None
        assert not url or "organisation=la-tela" in url   # the link keeps the desk's co-op
    assert len(pages) == 3 and seen == expected and len(seen) == 11
    newer = re.search(r'<a href="([^"]+)" rel="prev">', pages[-1])
    assert sales(member.get(unescape(newer.group(1))).get_data(as_text=True)) == sales(pages[-2])


def test_a_coops_statements_page_by_keyset(app, city, monkeypatch):
    monkeypatch.setattr(settlement.statement_lines_for, "__kwdefaults__",
                        {**settlement.statement_lines_for.__kwdefaults__, "per_page": 2})
    voucher = issuance.issue_voucher(city.programme, city.citizen, 100_000, actor=city.official)
    member = _as(app, city.member)
    counts = []
    for week in range(5):
        result = redemption.redeem(voucher.code, 100 + week, "elder-care", city.coop, actor=city.member)
        day = city.today - timedelta(days=40 - 7 * week)
        db.session.get(Redemption, result.redemption_id).at = utcnow() - timedelta(days=40 - 7 * week)
        db.session.commit()
        settlement.settle(day - timedelta(days=1), day + timedelta(days=1), actor=city.official)
        counts.append(_statements(member, "/vouchers/statements"))
    assert len(set(counts)) == 1, counts   # one settlement or five: the same statements
    lines, url = [], "/vouchers/statements"
    while url:
        html = member.get(url).get_data(as_text=True)
        lines += re.findall(r"/settlements/(\d+)/la-tela\.pdf", html)
        link = OLDER.search(html)
        url = unescape(link.group(1)) if link else None
    assert [int(n) for n in lines] == sorted((int(n) for n in lines), reverse=True) and len(set(lines)) == 5
    other = _as(app, city.other_member)
    assert "la-tela" not in other.get("/vouchers/statements").get_data(as_text=True)
    assert other.get(f"/vouchers/settlements/{lines[0]}/la-tela.pdf").status_code == 404


def test_nobody_pages_into_another_persons_history(app, city, make_user, api_client):
    voucher = _history(city, 4, 0)
    stranger = make_user(email="stranger@example.org")
    web = _as(app, stranger)
    cursor = redemption.organisation_redemptions(city.coop, per_page=2).older
    # Another holder's voucher, even with a cursor of its history: not found.
    assert web.get(f"/vouchers/mine/{voucher.id}?before={cursor}").status_code == 404
    # Their own page with someone else's cursor shows only their own (empty) history.
    assert voucher.code not in web.get(f"/vouchers/mine?before={cursor}").get_data(as_text=True)
    assert web.get(f"/vouchers/desk?before={cursor}").status_code == 403           # not a co-op member
    assert web.get(f"/vouchers/accounts/{voucher.account_id}").status_code == 403  # officials only
    assert web.get("/vouchers/statements").status_code == 403
    other = _as(app, city.other_member)
    answer = other.get(f"/vouchers/desk?organisation=la-tela&before={cursor}")
    assert answer.status_code == 403 and voucher.code not in answer.get_data(as_text=True)
    assert _as(app, city.member).get("/vouchers/settlements").status_code == 403
    stranger_api, headers = api_client(stranger)
    moved = stranger_api.get(f"/api/v1/vouchers/movements?before={cursor}", headers=headers)
    assert moved.status_code == 200 and moved.get_json()["movements"] == []
    assert stranger_api.get("/api/v1/vouchers/organisation", headers=headers).status_code in (403, 404)
    other_api, other_headers = api_client(city.other_member)
    refused = other_api.get(f"/api/v1/vouchers/organisation?organisation=la-tela&before={cursor}",
                            headers=other_headers)
    assert refused.status_code == 403 and voucher.code not in refused.get_data(as_text=True)


def test_a_vouchers_page_lists_the_redemptions_of_its_page_of_movements(app, city, monkeypatch):
    """The voucher's page lists its redemptions beside its movements, a page of each at a time: the
    Older link leads to the older sales, each shown once."""
    from vouchers import ledger
    monkeypatch.setattr(ledger.movements, "__kwdefaults__", {**ledger.movements.__kwdefaults__, "per_page": 3})
    voucher = _history(city, 5, 0)   # sales of 0.10 … 0.14 after the issue line
    holder = _as(app, city.citizen)

    def sales(html):
        table = html[html.index("<table"):html.index("</table>")]
        return re.findall(r"€\s?0[.,](1\d)", table)
    first = holder.get(f"/vouchers/mine/{voucher.id}").get_data(as_text=True)
    older = holder.get(unescape(OLDER.search(first).group(1))).get_data(as_text=True)
    assert sales(first) == ["14", "13", "12"] and sales(older) == ["11", "10"]
    assert "not been used yet" not in older
