"""Official documents as PDF, rendered by WeasyPrint from a template.

Every document carries the city's header, page numbers, its reference and
date, in the language it is issued in. Fonts are bundled in static/fonts and
nothing is ever fetched from the network."""
from pathlib import Path

from flask import current_app, render_template, send_file
from flask_babel import force_locale
from io import BytesIO

from .config import ROOT
from .i18n import city_today

STATIC = ROOT / "static"


class DocumentError(RuntimeError):
    """The PDF engine could not render a document."""


def _local_only(url: str):
    # Only files under static/ may be read while rendering: no network, no stray paths.
    from weasyprint import default_url_fetcher
    if not url.startswith("file://"):
        raise DocumentError(f"refusing to fetch {url}")
    path = Path(url[len("file://"):]).resolve()
    if STATIC.resolve() not in path.parents:
        raise DocumentError(f"refusing to read {path}")
    return default_url_fetcher(url)


def render_html(template: str, *, locale: str, reference: str, title: str, **context) -> str:
    with force_locale(locale):
        return render_template(template, document_reference=reference, document_title=title,
                               document_date=city_today(), document_locale=locale,
                               city_name=current_app.config["PROCOMUN_CITY_NAME"], **context)


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML
    try:
        return HTML(string=html, base_url=str(STATIC) + "/", url_fetcher=_local_only).write_pdf()
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
