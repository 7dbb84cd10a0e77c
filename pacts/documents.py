"""The signed pact as a PDF: every clause, the parties, the signatures and the version.

The core's `app.documents.html_to_pdf` hands WeasyPrint a plain function as URL
fetcher, which WeasyPrint 70 (the version installed) no longer accepts: any
resource fetch then fails with "'function' object has no attribute
'_fail_on_errors'". Until the core is fixed, this module renders the core's
HTML (`render_html`, same `_document.html`) with a fetcher object that keeps
the same rule: only files under static/, never the network."""
from pathlib import Path

from app.documents import STATIC, DocumentError, render_html

from .models import CLAUSES, Party


def _fetcher():
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # WeasyPrint before 68 takes a function, as the core does
        from app.documents import _local_only
        return _local_only

    class StaticOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if not url.startswith("file://"):
                raise ValueError(f"refusing to fetch {url}")
            path = Path(url[len("file://"):].split("?")[0]).resolve()
            if STATIC.resolve() not in path.parents:
                raise ValueError(f"refusing to read {path}")
            return super().fetch(url, headers)

    return StaticOnly(allowed_protocols=["file"])


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML
    try:
        return HTML(string=html, base_url=str(STATIC) + "/", url_fetcher=_fetcher()).write_pdf()
    except Exception as exc:  # WeasyPrint raises many kinds; callers need one
        raise DocumentError(str(exc)) from exc


def pact_pdf(pact) -> bytes:
    """The version in force of a signed pact, in the pact's language."""
    version = pact.signed_version
    html = render_html("pacts/pact_document.html", locale=pact.locale, reference=f"PACT-{pact.id}-v{version.number}",
                       title=pact.title, pact=pact, version=version, clauses=CLAUSES, Party=Party)
    return html_to_pdf(html)
