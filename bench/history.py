"""The daily bench's history pages (issue #25): what a person reads of their own history — a
holder's movements and voucher, a co-op's desk (its redemptions), its statements and its API
twins, a settlement's lines, a co-op's account — at the daily scale, each keyset-paged
(app/paging.py keyset_page).

Big: the heaviest subject of the bench data (the holder and co-op with the most redemptions,
the settlement with the most lines, that co-op's account), its first page and a deep page (the
Older link, or the API's `older`, followed DEPTH times). Small: the demo city's own short
histories (its citizen, la-tela's member, its settlement and la-tela's account), first page.
For each: the SQL statements of one request (in-process, SQLAlchemy's cursor event) — a count
that grows from the small history to the big one's first page, or from there to its deep page,
fails the run (the demo's histories name more kinds of things: time credits, gifts, so they may
run a few more) — its service time (in-process, one request
at a time, median), and p50/p95 under PER_CORE_CONNECTIONS keep-alive clients through gunicorn.
Signs in through the real login form; the bench holder and member get the demo password."""
import html
import os
import re
import statistics
import time
from urllib.parse import urlencode

from . import common
from .load import run_load
from .pages import HEADERS, PER_CORE_CONNECTIONS

DEPTH = 2 if common.QUICK else 10
SECONDS = 0.3 if common.QUICK else 2.0
REPEATS = 2 if common.QUICK else 5
OLDER_LINK = re.compile(r'<a href="([^"]+)" rel="next">')
MEMBER = "history-member@bench.example"


def _subjects() -> dict:
    """The heaviest holder, co-op and settlement of the bench data, and the demo's small ones."""
    holder, voucher = common.query(
        "SELECT v.holder_id, v.id FROM vouchers v JOIN (SELECT voucher_id, count(*) AS n FROM voucher_redemptions "
        "GROUP BY voucher_id ORDER BY n DESC, voucher_id LIMIT 1) r ON r.voucher_id = v.id")[0]
    coop, slug, account = common.query(
        "SELECT o.id, o.slug, a.id FROM (SELECT organisation_id, count(*) AS n FROM voucher_redemptions "
        "GROUP BY organisation_id ORDER BY n DESC, organisation_id LIMIT 1) r JOIN organisations o "
        "ON o.id = r.organisation_id JOIN voucher_accounts a ON a.organisation_id = o.id "
        "AND a.kind = 'organisation'")[0]
    settlement = common.query("SELECT settlement_id FROM voucher_settlement_lines GROUP BY settlement_id "
                              "ORDER BY count(*) DESC, settlement_id DESC LIMIT 1")[0][0]
    holder_email = common.query(f"SELECT email FROM users WHERE id = {holder}")[0][0]
    demo_voucher = common.query("SELECT v.id FROM vouchers v JOIN users u ON u.id = v.holder_id "
                                "WHERE u.email = 'citizen@villanova.example' ORDER BY v.id LIMIT 1")[0][0]
    demo_account = common.query("SELECT a.id FROM voucher_accounts a JOIN organisations o ON o.id = a.organisation_id "
                                "WHERE o.slug = 'la-tela' AND a.kind = 'organisation'")[0][0]
    demo_settlement = common.query("SELECT min(id) FROM voucher_settlements")[0][0]
    mine = f"(SELECT account_id FROM vouchers WHERE id = {voucher})"
    counts = {
        "holder_movements": common.query(f"SELECT count(*) FROM voucher_transfers WHERE debit_account_id = {mine} "
                                         f"OR credit_account_id = {mine}")[0][0] + 1,  # + its line of the batch
        "coop_redemptions": common.query(
            f"SELECT count(*) FROM voucher_redemptions WHERE organisation_id = {coop}")[0][0],
        "settlement_lines": common.query(
            f"SELECT count(*) FROM voucher_settlement_lines WHERE settlement_id = {settlement}")[0][0],
    }
    return {"holder": holder, "holder_email": holder_email, "voucher": voucher, "coop": coop, "slug": slug,
            "account": account, "settlement": settlement, "demo_voucher": demo_voucher,
            "demo_account": demo_account, "demo_settlement": demo_settlement, "counts": counts}


def _people(app, subjects: dict) -> None:
    """The bench holder signs in with the demo password; a member of the heaviest co-op is made."""
    from app import demo
    from app.accounts.models import Role
    from app.extensions import db
    from app.organisations.models import Organisation
    with app.app_context():
        if not common.query(f"SELECT 1 FROM users WHERE email = '{MEMBER}'"):
            demo.create_demo_user(MEMBER, name="History bench member", roles=[Role.ORG_MEMBER],
                                  organisations=[db.session.get(Organisation, subjects["coop"])])
    with common.connect() as conn:
        conn.execute("UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE email = %s) "
                     "WHERE id = %s", (MEMBER, subjects["holder"]))


def _signed_in(app, email: str) -> dict:
    """The headers of a browser signed in through the login form (Cookie), and of an API client
    with a fresh token (Authorization)."""
    from app import demo
    from app.accounts import operations as accounts
    from app.accounts.models import User
    from app.extensions import db
    client = app.test_client()
    form = client.get("/account/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    referer = {"Referer": "https://localhost/account/login"}
    answer = client.post("/account/login", data={"csrf_token": token, "email": email,
                                                  "password": demo.DEMO_PASSWORD}, headers=referer)
    if answer.status_code != 302:
        raise RuntimeError(f"{email}: login failed ({answer.status_code})")
    client.get(answer.headers["Location"], headers=referer)
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.email == email)).scalar_one()
        bearer, _row = accounts.issue_token(user, "history bench")
    return {"web": {"Cookie": f"session={client.get_cookie('session').value}"},
            "api": {"Authorization": f"Bearer {bearer}"}}


def _paths(s: dict, small: bool) -> dict:
    """name -> (who, path): the first page of each history, of the small or the big subject."""
    voucher, account, settlement = ((s["demo_voucher"], s["demo_account"], s["demo_settlement"]) if small
                                    else (s["voucher"], s["account"], s["settlement"]))
    slug = "la-tela" if small else s["slug"]
    return {
        "holder movements": ("holder", "/vouchers/mine"),
        "holder movements API": ("holder api", "/api/v1/vouchers/movements"),
        "holder voucher": ("holder", f"/vouchers/mine/{voucher}"),
        "co-op desk": ("member", f"/vouchers/desk?organisation={slug}"),
        "co-op redemptions API": ("member api", f"/api/v1/vouchers/organisation?organisation={slug}"),
        "co-op statements": ("member", "/vouchers/statements"),
        "settlement lines": ("official", f"/vouchers/settlements/{settlement}"),
        "co-op account": ("official", f"/vouchers/accounts/{account}"),
    }


def _deep(client, who: str, path: str, headers: dict) -> tuple[str, int]:
    """The page DEPTH Older links (or `older` cursors) after `path`, or the oldest reached, and the hops."""
    hops = 0
    while hops < DEPTH:
        answer = client.get(path, headers=headers)
        if who.endswith("api"):
            older = answer.get_json().get("older")
            base, _sep, query = path.partition("?")
            kept = [part for part in query.split("&") if part and not part.startswith(("before=", "after="))]
            following = f"{base}?{'&'.join(kept + [urlencode({'before': older})])}" if older else None
        else:
            link = OLDER_LINK.search(answer.get_data(as_text=True))
            following = html.unescape(link.group(1)) if link else None
        if not following:
            break
        path, hops = following, hops + 1
    return path, hops


def _measure_in_process(app, path: str, headers: dict) -> dict:
    from sqlalchemy import event

    from app.extensions import db
    with app.app_context():
        engine = db.engine
    client = app.test_client(use_cookies=False)
    client.get(path, headers=headers).get_data()  # warm
    seen = []
    listener = lambda *args: seen.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        answer = client.get(path, headers=headers)
        body = answer.get_data()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        client.get(path, headers=headers).get_data()
        times.append(time.perf_counter() - started)
    return {"statements": len(seen), "status": answer.status_code, "bytes": len(body),
            "service_ms": round(statistics.median(times) * 1000, 1)}


def measure() -> dict:
    """The history pages on the database the daily bench has loaded (PostgreSQL)."""
    from app import create_app
    app = create_app(env=common.env())
    for setting in ("PROCOMUN_PUBLIC_PAGE_CACHE_SECONDS", "PROCOMUN_SHARED_CONTENT_CACHE_SECONDS",
                    "PROCOMUN_PERSONAL_PAGE_CACHE_SECONDS"):
        app.config[setting] = 0
    subjects = _subjects()
    _people(app, subjects)
    signed = {"big": {"holder": _signed_in(app, subjects["holder_email"]), "member": _signed_in(app, MEMBER)},
              "small": {"holder": _signed_in(app, "citizen@villanova.example"),
                        "member": _signed_in(app, "coop@villanova.example")}}
    official = _signed_in(app, "official@villanova.example")
    for who in signed.values():
        who["official"] = official

    def headers(size, who):
        person, _sp, kind = who.partition(" ")
        return signed[size][person]["api" if kind else "web"]

    client = app.test_client(use_cookies=False)
    pages, failed = {}, []
    small_paths, big_paths = _paths(subjects, True), _paths(subjects, False)
    with common.gunicorn("app:create_app()") as port:
        for name, (who, path) in big_paths.items():
            deep_path, hops = _deep(client, who, path, headers("big", who))
            row = {"small": _measure_in_process(app, small_paths[name][1], headers("small", small_paths[name][0])),
                   "first": _measure_in_process(app, path, headers("big", who)),
                   "deep": {**_measure_in_process(app, deep_path, headers("big", who)), "older_links_followed": hops}}
            for key, at in (("first", path), ("deep", deep_path)):
                make = lambda i, n, at=at, who=who: ("GET", at, {**headers("big", who), **HEADERS}, None)  # noqa: E731
                run_load("127.0.0.1", port, make, connections=2, seconds=0.1, timeout=30)  # warm the workers
                load = run_load("127.0.0.1", port, make, connections=PER_CORE_CONNECTIONS, seconds=SECONDS,
                                timeout=30).summary()
                row[key].update({k: load[k] for k in ("p50_ms", "p95_ms", "per_second", "statuses")})
            statements = {key: row[key]["statements"] for key in ("small", "first", "deep")}
            if statements["first"] > statements["small"] or statements["deep"] > statements["first"]:
                failed.append(f"{name}: statements grow {statements} (small history, first page, deep page)")
            for key in ("small", "first", "deep"):
                if row[key]["status"] != 200 or set(row[key].get("statuses", {"200": 1})) - {"200", 200}:
                    failed.append(f"{name} ({key}): answered {row[key]['status']} {row[key].get('statuses')}")
            pages[name] = row
            print(f"   {name:<22} first p50 {row['first']['p50_ms']} p95 {row['first']['p95_ms']} ms, deep "
                  f"(+{hops}) p50 {row['deep']['p50_ms']} p95 {row['deep']['p95_ms']} ms, service "
                  f"{row['first']['service_ms']}/{row['deep']['service_ms']} ms, statements {statements}", flush=True)
    return {"connections": PER_CORE_CONNECTIONS, "seconds": SECONDS, "depth": DEPTH,
            "load_average": [round(n, 1) for n in os.getloadavg()], "subjects": subjects["counts"],
            "pages": pages, "failed_checks": failed}


def table_rows(figures: dict | None) -> list[str]:
    """The history pages' lines of the bench's summary on stdout."""
    if not figures or "pages" not in figures:
        return []
    return [f"  {name:<24} first p95 {row['first']['p95_ms']} ms, deep (+{row['deep']['older_links_followed']}) "
            f"p95 {row['deep']['p95_ms']} ms ({figures['connections']} clients), service {row['first']['service_ms']}"
            f"/{row['deep']['service_ms']} ms, statements {row['small']['statements']}/{row['first']['statements']}/"
            f"{row['deep']['statements']}" for name, row in figures["pages"].items()]
