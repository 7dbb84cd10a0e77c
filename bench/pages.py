"""Benchmark 3: pages at two scales of data (`flask --app app bench-data --scale N`),
p50/p95 under concurrent load through gunicorn, the growth factor between the
scales, and the SQL statements each page runs (counted in-process with an
SQLAlchemy event hook): a page whose statement count grows with N fails the bench.

The load, said plainly: 16 keep-alive clients on loopback, each sending its next
request as soon as its answer arrives (a closed loop, no think time), against 2
gunicorn workers × 16 threads on a 2-core machine that also runs PostgreSQL and the
load generator. With 16 requests always in flight on 2 cores, p95 is mostly queueing:
about 16 / 2 × the CPU one request costs. So each page is also measured at 4 clients
(2 per core: as many requests as the machine can serve at once, plus one waiting), and
its service time (`service_ms`: in-process, one request at a time, median; the public
page cache turned off, so it is the cost of a render) is reported beside them.

Anonymous public pages are served from the public page cache (app/pagecache.py,
production lifetime 30 s) as in production; their statements are counted on an
uncached render. Clients send `Accept-Encoding: gzip` as browsers do.

The same runs on SQLite (its own key "sqlite"), at smaller N: see SQLITE_SCALES."""
import re
import statistics
import time

from . import common
from .load import run_load

CONNECTIONS = 16
PER_CORE_CONNECTIONS = 4  # 2 clients per core
HEADERS = {"Accept-Encoding": "gzip"}
DEEP_PAGE = 5 if common.QUICK else 50
# name -> (path, needs the official's session)
PAGES = {
    "pacts register": ("/pacts/", False),
    # A deep page of the register (QUICK's small registers have only a few pages).
    f"pacts register p.{DEEP_PAGE}": (f"/pacts/?page={DEEP_PAGE}", False),
    "council page": ("/councils/{council}", False),
    "vouchers open books": ("/vouchers/open-books", False),
    "officials pacts desk": ("/pacts/desk", True),
    "open data pacts.csv": ("/open-data/pacts.csv", False),
    "open data procurement": ("/open-data/procurement.json", False),
    "open data councils": ("/open-data/councils.json", False),
    "open data vouchers": ("/open-data/vouchers.json", False),
}


def _official_cookie(app) -> str:
    """Sign the demo official in through the real login form; returns the Cookie header."""
    from app import demo
    client = app.test_client()
    form = client.get("/account/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    answer = client.post("/account/login", data={"csrf_token": token, "email": "official@villanova.example",
                                                  "password": demo.DEMO_PASSWORD},
                         headers={"Referer": "https://localhost/account/login"})  # production: https, strict
    if answer.status_code != 302:
        raise RuntimeError(f"official login failed ({answer.status_code})")
    # The session as a browser holds it from its first page on: with the CSRF secret that page gave it
    # (the load generator sends this cookie and ignores Set-Cookie).
    client.get(answer.headers["Location"], headers={"Referer": "https://localhost/account/login"})
    cookie = client.get_cookie("session")
    return f"session={cookie.value}"


def _caches(app, seconds: int) -> None:
    """Every page cache of this in-process app on (their production lifetime) or off (0)."""
    for setting in ("PROCOMUN_PUBLIC_PAGE_CACHE_SECONDS", "PROCOMUN_SHARED_CONTENT_CACHE_SECONDS",
                    "PROCOMUN_PERSONAL_PAGE_CACHE_SECONDS"):
        app.config[setting] = seconds


def _count_statements(app, paths: dict, cookie: str, base_url: str) -> dict:
    """Statements of one render of each page (public page cache off), and its service time:
    the median of a few requests one at a time, in-process (no HTTP, no contention)."""
    from sqlalchemy import event

    from app.extensions import db
    with app.app_context():
        engine = db.engine
    counts = {}
    seen = []
    listener = lambda *args: seen.append(1)  # noqa: E731
    repeats = 2 if common.QUICK else 7
    client = app.test_client(use_cookies=False)  # only the official's cookie, sent by hand
    for name, (path, official) in paths.items():
        headers = {"Cookie": cookie} if official else {}
        _caches(app, 0)
        # Warm (first-use queries; an export's cache file is built here, for the server's host too).
        started = time.perf_counter()
        client.get(path, headers=headers, base_url=base_url).get_data()
        cold_ms = round((time.perf_counter() - started) * 1000, 1)
        event.listen(engine, "before_cursor_execute", listener)
        try:
            seen.clear()
            answer = client.get(path, headers=headers, base_url=base_url)
            body = answer.get_data()  # a streamed export runs its queries while it is read
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        counts[name] = {"statements": len(seen), "status": answer.status_code, "bytes": len(body),
                        "cold_ms": cold_ms}
        for cached, key in ((0, "service_ms"), (30, "service_cached_ms")):
            _caches(app, cached)
            if cached:  # fill the caches first: the figure is a hit's (QUICK's median of two was half a miss)
                client.get(path, headers=headers, base_url=base_url).get_data()
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                client.get(path, headers=headers, base_url=base_url).get_data()
                times.append(time.perf_counter() - started)
            counts[name][key] = round(statistics.median(times) * 1000, 1)
    return counts


def measure(scale: int, seconds: float, per_core_seconds: float) -> dict:
    from app import create_app
    common.reset_database()
    started = time.perf_counter()
    done = common.flask("bench-data", "--scale", str(scale))
    out = {"generate_s": round(time.perf_counter() - started, 1), "generator": done.stdout.strip().splitlines()[-4:]}
    started = time.perf_counter()
    common.settle()
    out["settle_s"] = round(time.perf_counter() - started, 1)
    council = common.query("SELECT slug FROM councils ORDER BY id LIMIT 1")[0][0]
    out["rows"] = {t: common.query(f"SELECT count(*) FROM {t}")[0][0]
                   for t in ("pacts", "pact_reports", "councils", "council_votes", "procurement_processes",
                             "voucher_transfers")}
    paths = {name: (path.format(council=council), official) for name, (path, official) in PAGES.items()}
    app = create_app(env=common.env())
    cookie = _official_cookie(app)
    pages = {}
    with common.gunicorn("app:create_app()") as port:
        counts = _count_statements(app, paths, cookie, f"http://127.0.0.1:{port}")
        for name, (path, official) in paths.items():
            headers = {"Cookie": cookie, **HEADERS} if official else dict(HEADERS)
            make = lambda index, n, path=path, headers=headers: ("GET", path, headers, None)  # noqa: E731
            run_load("127.0.0.1", port, make, connections=2, seconds=0.1 if common.QUICK else 0.3, timeout=30)
            # Whole-register exports get fewer clients: each answer is the whole register.
            export = name.startswith("open data")
            clients = PER_CORE_CONNECTIONS if export else CONNECTIONS
            result = run_load("127.0.0.1", port, make, connections=clients, seconds=seconds, timeout=30).summary()
            result["connections"] = clients
            result.update(counts[name])
            if not export and per_core_seconds:
                light = run_load("127.0.0.1", port, make, connections=PER_CORE_CONNECTIONS,
                                 seconds=per_core_seconds, timeout=30).summary()
                result["per_core"] = {k: light[k] for k in ("p50_ms", "p95_ms", "per_second")}
            pages[name] = result
            print(f"   N={scale} {name}: p50 {result['p50_ms']} p95 {result['p95_ms']} ms ({clients} clients), "
                  + (f"4 clients p95 {result['per_core']['p95_ms']} ms, " if "per_core" in result else "")
                  + f"service {result['service_ms']} ms (cached {result['service_cached_ms']}), "
                  f"{result['per_second']}/s, {result['statements']} statements, statuses {result['statuses']}",
                  flush=True)
    out["pages"] = pages
    return out


# PostgreSQL scales, SQLite scales (smaller: generating and serving 100,000 pacts on SQLite
# would not fit the bench's time), seconds under 16 clients, seconds under 4 clients.
PG_SCALES = {True: [300, 1_000], False: [10_000, 100_000]}
SQLITE_SCALES = {True: [300, 1_000], False: [1_000, 10_000]}
SECONDS = {True: (0.3, 0), False: (4, 1.5)}
KEYS = ("p50_ms", "p95_ms", "per_second", "statements", "statuses", "bytes", "connections", "connection_errors",
        "cold_ms", "service_ms", "service_cached_ms", "per_core")


def _compare(scales, by_scale) -> dict:
    small, large = scales
    out, growing = {}, []
    for name in PAGES:
        a, b = by_scale[small]["pages"][name], by_scale[large]["pages"][name]
        out[name] = {
            str(small): {k: a[k] for k in KEYS if k in a},
            str(large): {k: b[k] for k in KEYS if k in b},
            "growth_p95": round(b["p95_ms"] / a["p95_ms"], 2) if a["p95_ms"] else None,
            "growth_p50": round(b["p50_ms"] / a["p50_ms"], 2) if a["p50_ms"] else None,
            "growth_service": round(b["service_ms"] / a["service_ms"], 2) if a["service_ms"] else None,
        }
        if b["statements"] > a["statements"]:
            growing.append(f"{name}: {a['statements']} statements at N={small}, {b['statements']} at N={large}")
    return out, growing


def run() -> dict:
    seconds, per_core_seconds = SECONDS[common.QUICK]
    out = {"connections": CONNECTIONS, "per_core_connections": PER_CORE_CONNECTIONS, "seconds": seconds,
           "per_core_seconds": per_core_seconds,
           "server": common.production_settings(),  # gunicorn.conf.py
           "load": "closed loop: each client sends its next request when its answer arrives, no think time; "
                   "keep-alive, loopback; Accept-Encoding: gzip; anonymous pages from the 30 s public page cache"}
    failed = []
    for key, url, scales in (("postgresql", common.DATABASE_URL, PG_SCALES[common.QUICK]),
                             ("sqlite", common.sqlite_url(), SQLITE_SCALES[common.QUICK])):
        with common.database(url):
            print(f"  {key}", flush=True)
            by_scale = {scale: measure(scale, seconds, per_core_seconds)
                        for scale in scales}
        pages, growing = _compare(scales, by_scale)
        figures = {"scales": scales, "pages": pages, "statement_count_grows": growing,
                   "data": {str(s): {k: v for k, v in m.items() if k != "pages"} for s, m in by_scale.items()}}
        if key == "postgresql":
            out.update(figures)  # the headline figures keep their place in results.json
        else:
            out["sqlite"] = figures
        failed += [f"{key}: {g}" for g in growing]
    out["failed_checks"] = failed
    return out
