"""Printable documents: the voucher, a co-op's settlement statement (PDF and
CSV), and a contribution receipt. Each function returns bytes or rows."""
import segno
from flask_babel import gettext as _
from markupsafe import Markup

from app.books.operations import leaf_place
from app.dates import in_zone
from app.documents import render_pdf
from app.i18n import city_timezone
from app.urls import external_url

from . import allowances
from .settlement import statement_offline_honoured, statement_redemptions

# refunded_cents: what the co-op gave back of the sale before it was settled (paid: amount less refunded).
# One row per redemption, then one per offline sale the city paid from a risk budget (no redemption:
# the voucher could not pay it), so that the rows sum to the statement's amount.
STATEMENT_HEADER = ["redemption_id", "date", "voucher_code", "service_category", "amount_cents", "refunded_cents",
                    "offline_sale_id", "paid_from"]


def qr_svg(code: str, scale: int = 4) -> str:
    """The voucher code as a QR image (SVG), drawn on the server: no script, nothing fetched."""
    # make_qr: a full QR code (segno would pick a Micro QR for short text, which phones rarely read).
    return segno.make_qr(code, error="m").svg_inline(scale=scale, border=4)


def qr_png_uri(text: str, scale: int = 8) -> str:
    """The QR code as a PNG data: URI, for a batch of printed pages: WeasyPrint draws an inline SVG
    QR in about 15 ms, a PNG in 2 (8 pixels a module prints sharp at 40 mm)."""
    return segno.make_qr(text, error="m").png_data_uri(scale=scale, border=4)


def voucher_pdf(voucher, locale: str) -> bytes:
    return render_pdf("vouchers/voucher_document.html", locale=locale, reference=voucher.code,
                      title=_("Social voucher"), voucher=voucher, qr=Markup(qr_svg(allowances.qr_text(voucher), 5)))


def statement_pdf(settlement, line, locale: str) -> bytes:
    redemptions = statement_redemptions(settlement, line.organisation)
    return render_pdf("vouchers/statement_document.html", locale=locale,
                      reference=settlement.reference,  # the end-to-end id of its SEPA transfer
                      title=_("Settlement statement"), settlement=settlement, line=line, redemptions=redemptions,
                      honoured=statement_offline_honoured(settlement, line.organisation),
                      place=leaf_place("ledger", line.transfer_id),
                      proof_url=external_url("books.transfer", transfer_id=line.transfer_id))


def statement_rows(settlement, line):
    zone = city_timezone()
    for r in statement_redemptions(settlement, line.organisation):
        yield [r.id, in_zone(r.at, zone).date().isoformat(), r.voucher.code, r.category, r.amount_cents,
               r.refunded_cents, "", "voucher"]
    for s in statement_offline_honoured(settlement, line.organisation):
        yield ["", in_zone(s.offline_at, zone).date().isoformat(), s.code, s.category, s.amount_cents, 0, s.id,
               "offline_risk_budget"]


def receipt_pdf(contribution, locale: str) -> bytes:
    return render_pdf("vouchers/receipt_document.html", locale=locale, reference=f"C{contribution.id}",
                      title=_("Contribution receipt"), contribution=contribution)
