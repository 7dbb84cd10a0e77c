"""Printable documents: the voucher, a co-op's settlement statement (PDF and
CSV), and a contribution receipt. Each function returns bytes or rows."""
from pathlib import Path

import segno
from flask_babel import gettext as _
from markupsafe import Markup

from app import documents as core
from app.documents import DocumentError, render_html

from . import operations as ops

def render_pdf(template: str, *, locale: str, reference: str, title: str, **context) -> bytes:
    """app.documents.render_pdf, working with WeasyPrint ≥ 68 too.

    Newer WeasyPrint replaced `default_url_fetcher` with a `URLFetcher` class,
    which the core's local-files-only fetcher does not know yet; this keeps the
    same rule (only files under static/, never the network) with either API.
    (A core helper: to be moved into app/documents.py.)"""
    html = render_html(template, locale=locale, reference=reference, title=title, **context)
    try:
        from weasyprint import URLFetcher
    except ImportError:
        return core.html_to_pdf(html)
    from weasyprint import HTML

    class LocalOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if not url.startswith("file://"):
                raise DocumentError(f"refusing to fetch {url}")
            path = Path(url[len("file://"):]).resolve()
            if core.STATIC.resolve() not in path.parents:
                raise DocumentError(f"refusing to read {path}")
            return super().fetch(url, headers)
    try:
        return HTML(string=html, base_url=str(core.STATIC) + "/", url_fetcher=LocalOnly()).write_pdf()
    except DocumentError:
        raise
    except Exception as exc:  # WeasyPrint raises many kinds; callers need one
        raise DocumentError(str(exc)) from exc


STATEMENT_HEADER = ["redemption_id", "date", "voucher_code", "service_category", "amount_cents"]


def qr_svg(code: str, scale: int = 4) -> str:
    """The voucher code as a QR image (SVG), drawn on the server: no script, nothing fetched."""
    # make_qr: a full QR code (segno would pick a Micro QR for short text, which phones rarely read).
    return segno.make_qr(code, error="m").svg_inline(scale=scale, border=4)


def voucher_pdf(voucher, locale: str) -> bytes:
    return render_pdf("vouchers/voucher_document.html", locale=locale, reference=voucher.code,
                      title=_("Social voucher"), voucher=voucher, qr=Markup(qr_svg(voucher.code, 5)))


def statement_pdf(settlement, line, locale: str) -> bytes:
    redemptions = ops.statement_redemptions(settlement, line.organisation)
    return render_pdf("vouchers/statement_document.html", locale=locale,
                      reference=f"S{settlement.id}-{line.organisation.slug}",
                      title=_("Settlement statement"), settlement=settlement, line=line, redemptions=redemptions)


def statement_rows(settlement, line):
    for r in ops.statement_redemptions(settlement, line.organisation):
        yield [r.id, r.at.date().isoformat(), r.voucher.code, r.category, r.amount_cents]


def receipt_pdf(contribution, locale: str) -> bytes:
    return render_pdf("vouchers/receipt_document.html", locale=locale, reference=f"C{contribution.id}",
                      title=_("Contribution receipt"), contribution=contribution)
