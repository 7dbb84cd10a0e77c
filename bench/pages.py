"""Benchmark 3: pages at two scales of data (`flask --app app bench-data --scale N`),
p50/p95 under concurrent load through gunicorn, the growth factor between the
scales, and the SQL statements each page runs (counted in-process with an
SQLAlchemy event hook): a page whose statement count grows with N fails the bench."""
import re
import time

from . import common
from .load import run_load

CONNECTIONS = 16
# name -> (path, needs the official's session)
PAGES = {
    "pacts register": ("/pacts/", False),
    "pacts register p.50": ("/pacts/?page=50", False),
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
    cookie = client.get_cookie("session")
    return f"session={cookie.value}"


def _count_statements(app, paths: dict, cookie: str) -> dict:
    from sqlalchemy import event

    from app.extensions import db
    with app.app_context():
        engine = db.engine
    counts = {}
    seen = []
    listener = lambda *args: seen.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        client = app.test_client(use_cookies=False)  # only the official's cookie, sent by hand
        for name, (path, official) in paths.items():
            headers = {"Cookie": cookie} if official else {}
            client.get(path, headers=headers)  # warm (caches, first-use queries)
            seen.clear()
            answer = client.get(path, headers=headers)
            body = answer.get_data()  # a streamed export runs its queries while it is read
            counts[name] = {"statements": len(seen), "status": answer.status_code, "bytes": len(body)}
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return counts


def measure(scale: int, seconds: float, workers: int, worker_class: str, threads: int) -> dict:
    from app import create_app
    common.reset_database()
    started = time.perf_counter()
    done = common.flask("bench-data", "--scale", str(scale))
    out = {"generate_s": round(time.perf_counter() - started, 1), "generator": done.stdout.strip().splitlines()[-4:]}
    with common.connect() as conn:
        council = conn.execute("SELECT slug FROM councils ORDER BY id LIMIT 1").fetchone()[0]
        out["rows"] = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                       for t in ("pacts", "pact_reports", "councils", "council_votes", "procurement_processes",
                                 "voucher_transfers")}
    paths = {name: (path.format(council=council), official) for name, (path, official) in PAGES.items()}
    app = create_app(env=common.env())
    cookie = _official_cookie(app)
    counts = _count_statements(app, paths, cookie)
    pages = {}
    with common.gunicorn("app:create_app()", workers=workers, worker_class=worker_class, threads=threads) as port:
        for name, (path, official) in paths.items():
            headers = {"Cookie": cookie} if official else {}
            make = lambda index, n, path=path, headers=headers: ("GET", path, headers, None)  # noqa: E731
            # Warm: one request first (an export's cache is built by it: reported as "cold_ms").
            cold = run_load("127.0.0.1", port, make, connections=1, seconds=0.01, timeout=600)
            run_load("127.0.0.1", port, make, connections=2, seconds=0.5, timeout=30)
            # Whole-register exports get fewer clients: each answer is the whole register.
            clients = 4 if name.startswith("open data") else CONNECTIONS
            result = run_load("127.0.0.1", port, make, connections=clients, seconds=seconds, timeout=30).summary()
            result["connections"] = clients
            result["cold_ms"] = round(max(cold.latencies) * 1000, 1) if cold.latencies else None
            result.update(counts[name])
            pages[name] = result
            print(f"   N={scale} {name}: p50 {result['p50_ms']} p95 {result['p95_ms']} ms, "
                  f"{result['per_second']}/s, {result['statements']} statements, statuses {result['statuses']}",
                  flush=True)
    out["pages"] = pages
    return out


def run(workers: int = 2, worker_class: str = "gthread", threads: int = 16) -> dict:
    scales = [1_000, 10_000] if common.QUICK else [10_000, 100_000]
    seconds = 2 if common.QUICK else 8
    by_scale = {scale: measure(scale, seconds, workers, worker_class, threads) for scale in scales}
    small, large = scales
    out = {"scales": scales, "connections": CONNECTIONS, "seconds": seconds,
           "server": {"workers": workers, "worker_class": worker_class, "threads": threads},
           "data": {str(s): {k: v for k, v in m.items() if k != "pages"} for s, m in by_scale.items()}, "pages": {}}
    growing = []
    for name in PAGES:
        a, b = by_scale[small]["pages"][name], by_scale[large]["pages"][name]
        out["pages"][name] = {
            str(small): {k: a[k] for k in ("p50_ms", "p95_ms", "per_second", "statements", "statuses", "bytes", "connections",
                                          "connection_errors", "cold_ms")},
            str(large): {k: b[k] for k in ("p50_ms", "p95_ms", "per_second", "statements", "statuses", "bytes", "connections",
                                          "connection_errors", "cold_ms")},
            "growth_p95": round(b["p95_ms"] / a["p95_ms"], 2) if a["p95_ms"] else None,
            "growth_p50": round(b["p50_ms"] / a["p50_ms"], 2) if a["p50_ms"] else None,
        }
        if b["statements"] > a["statements"]:
            growing.append(f"{name}: {a['statements']} statements at N={small}, {b['statements']} at N={large}")
    out["statement_count_grows"] = growing
    out["failed_checks"] = growing
    return out
