"""Benchmark 4: a pact PDF and a council's minutes PDF through the app (the whole
request: routing, access check, loading, templates, WeasyPrint, response)
beside WeasyPrint alone on the very HTML the app produced; medians, ratio.

Fair to both: bare WeasyPrint gets the same HTML, base URL, URL fetcher (the same
stylesheet and font files) and the same kept font configuration as the app
(`app.documents.weasyprint_arguments`), so the overhead is only what the request adds
around it. "weasyprint_fresh_ms" is the naive call for reference: a new font
configuration for every document, as the app did before."""
import time

from . import common


def run() -> dict:
    """PostgreSQL (the headline keys), then SQLite under "sqlite"."""
    out = measure()
    with common.database(common.sqlite_url()):
        out["sqlite"] = measure()
    return out


def measure() -> dict:
    from app import create_app
    from app import documents as core_documents
    common.reset_database()
    common.flask("demo")
    pact_id = common.query("SELECT id FROM pacts WHERE signed_version_number IS NOT NULL ORDER BY id LIMIT 1")[0][0]
    meeting_id = common.query("SELECT id FROM council_meetings WHERE minutes <> '' ORDER BY id LIMIT 1")[0][0]
    urls = {"pact": f"/pacts/{pact_id}/pact.pdf", "minutes": f"/councils/meetings/{meeting_id}/minutes.pdf"}
    app = create_app(env=common.env())
    client = app.test_client(use_cookies=False)
    captured = {}
    original = core_documents.html_to_pdf

    def capture(html):
        captured["html"] = html
        return original(html)

    repeats = 4 if common.QUICK else (16 if common.is_sqlite() else 30)
    from weasyprint import HTML
    out = {"repeats": repeats, "database": "sqlite" if common.is_sqlite() else "postgresql"}
    for name, url in urls.items():
        core_documents.html_to_pdf = capture
        try:
            first = client.get(url)  # warm: fonts, templates, first queries
        finally:
            core_documents.html_to_pdf = original
        if first.status_code != 200 or first.mimetype != "application/pdf":
            raise RuntimeError(f"{url} answered {first.status_code} {first.mimetype}")
        html = captured["html"]
        with app.app_context():
            html_arguments, pdf_arguments = core_documents.weasyprint_arguments()
        HTML(string=html, **html_arguments).write_pdf(**pdf_arguments)
        app_times, bare_times, fresh_times = [], [], []

        def through_app():
            started = time.perf_counter()
            client.get(url).get_data()
            app_times.append(time.perf_counter() - started)

        def bare():
            started = time.perf_counter()
            HTML(string=html, **html_arguments).write_pdf(**pdf_arguments)
            bare_times.append(time.perf_counter() - started)
        # Interleaved, and each goes first every other time: the machine's load and whatever one
        # render leaves warm for the next fall on both alike.
        for n in range(repeats):
            for measure_one in ((through_app, bare) if n % 2 == 0 else (bare, through_app)):
                measure_one()
        for _ in range(1 if common.QUICK else 5):
            started = time.perf_counter()
            HTML(string=html, **html_arguments).write_pdf()
            fresh_times.append(time.perf_counter() - started)
        app_ms, bare_ms = common.median(app_times) * 1000, common.median(bare_times) * 1000
        out[name] = {"url": url, "app_ms": round(app_ms, 1), "weasyprint_ms": round(bare_ms, 1),
                     "weasyprint_fresh_ms": round(common.median(fresh_times) * 1000, 1),
                     "ratio": round(app_ms / bare_ms, 3), "overhead": f"{(app_ms / bare_ms - 1) * 100:.1f}%",
                     "bytes": len(first.data)}
        print(f"   {out['database']} {name}: app {out[name]['app_ms']} ms, "
              f"WeasyPrint alone {out[name]['weasyprint_ms']} ms "
              f"(with a new font configuration each time {out[name]['weasyprint_fresh_ms']} ms)", flush=True)
    return out
