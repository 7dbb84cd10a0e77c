"""Official documents as PDF, rendered by WeasyPrint from a template.

Every document carries the city's header, page numbers, its reference and
date, in the language it is issued in. Fonts are bundled in static/fonts and
nothing is ever fetched from the network."""
import threading
from io import BytesIO
from pathlib import Path

from flask import current_app, has_request_context, render_template, request, send_file
from flask_babel import force_locale, gettext
from markupsafe import Markup

from .config import ROOT
from .i18n import city_today
from .urls import external_url

STATIC = ROOT / "static"


class DocumentError(RuntimeError):
    """The PDF engine could not render a document."""


def _check_local(url: str) -> None:
    # Only files under static/ may be read while rendering, and data: URIs (inline images such as a
    # QR code, which read nothing): no network, no stray paths.
    if url.startswith("data:"):
        return
    if not url.startswith("file://"):
        raise DocumentError(f"refusing to fetch {url}")
    path = Path(url[len("file://"):].split("?")[0]).resolve()
    if STATIC.resolve() not in path.parents:
        raise DocumentError(f"refusing to read {path}")


def _url_fetcher():
    """A fetcher that reads only our static files, for old and new WeasyPrint APIs."""
    try:
        from weasyprint.urls import URLFetcher  # WeasyPrint 68 and later
    except ImportError:
        from weasyprint import default_url_fetcher

        def fetch(url):
            _check_local(url)
            return default_url_fetcher(url)
        return fetch

    class LocalFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            _check_local(url)
            return super().fetch(url, headers)
    return LocalFetcher(allowed_protocols={"file", "data"})


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3c ") + '"'


def _page_counter_css() -> Markup:
    """`"Page " counter(page) " of " counter(pages)` in the document's language."""
    label = gettext("Page %(page)s of %(pages)s", page="\x00P", pages="\x00N")
    css = _css_string(label).replace("\x00P", '" counter(page) "').replace("\x00N", '" counter(pages) "')
    return Markup(css)


def _own_address() -> str | None:
    """Where the document being served lives, at the site's public address (never the request's
    Host): printed on it, so a paper copy says where to find and check the original."""
    if has_request_context() and request.endpoint and request.method == "GET":
        return external_url(request.endpoint, **(request.view_args or {}))
    return None


def render_html(template: str, *, locale: str, reference: str, title: str, **context) -> str:
    context.setdefault("document_url", _own_address())
    with force_locale(locale):
        city = current_app.config["PROCOMUN_CITY_NAME"]
        return render_template(template, document_reference=reference, document_title=title,
                               document_date=city_today(), document_locale=locale, city_name=city,
                               page_counter_css=_page_counter_css(),
                               footer_css=Markup(_css_string(f"{city} · {reference}")), **context)


_engine = threading.local()


def weasyprint_arguments() -> tuple[dict, dict]:
    """What every document is rendered with: (HTML(...) arguments, write_pdf(...) arguments).

    The fetcher and the font configuration are made once per thread and kept: loading the
    bundled fonts into a fresh Fontconfig configuration took about a third of a pact's render,
    and WeasyPrint keeps a loaded @font-face (same descriptors, same file) instead of loading
    it again. Per thread, because neither object may be used by two renders at once.
    The benchmark gives bare WeasyPrint these very arguments (bench/documents.py)."""
    if not hasattr(_engine, "fetcher"):
        from weasyprint.text.fonts import FontConfiguration
        _engine.fetcher = _url_fetcher()
        _engine.font_config = FontConfiguration()
    return ({"base_url": str(STATIC) + "/", "url_fetcher": _engine.fetcher},
            {"font_config": _engine.font_config})


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML
    try:
        html_arguments, pdf_arguments = weasyprint_arguments()
        return HTML(string=html, **html_arguments).write_pdf(**pdf_arguments)
    except DocumentError:
        raise
    except Exception as exc:  # WeasyPrint raises many kinds; callers need one
        raise DocumentError(str(exc)) from exc


def render_pdf(template: str, *, locale: str, reference: str, title: str, **context) -> bytes:
    """Render `template` (which extends `_document.html`) to PDF bytes in `locale`."""
    return html_to_pdf(render_html(template, locale=locale, reference=reference, title=title, **context))


def pdf_response(pdf: bytes, filename: str):
    return send_file(BytesIO(pdf), mimetype="application/pdf", download_name=filename,
                     as_attachment=False)
