"""The letters' PDF: one letter per page, each in its reader's language, rendered by WeasyPrint in
batches and written into one file as the batches come, so that memory holds one batch at a time.

WeasyPrint lays out a whole document before writing it (a batch of letters.PRINT_BATCH letters is the
largest piece held); PdfStream then copies each batch's pages and what they use (fonts, images) into the output file
at once, renumbered, and keeps only each object's offset for the cross-reference table written at
the end (8 bytes an object, about ten objects a letter)."""
from array import array
from io import BytesIO

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

from app.documents import DocumentError, weasyprint_arguments
from app.i18n import city_today
from app.organisations.operations import category_name
from app.urls import external_url

from . import allowances
from .documents import qr_png_uri


class LetterOverflow(DocumentError):
    """A batch rendered to more pages than letters: one letter would spill onto another's page."""


def letter_html(letter, activation_code: str) -> str:
    """One letter, in its reader's language."""
    voucher = letter.voucher
    with force_locale(letter.language):
        return render_template(
            "vouchers/_letter.html", letter=letter, voucher=voucher, programme=voucher.programme,
            locale=letter.language, activation_code=activation_code, today=city_today(),
            city_name=current_app.config["PROCOMUN_CITY_NAME"], qr=qr_png_uri(allowances.qr_text(voucher)),
            categories=", ".join(category_name(c) for c in voucher.programme.categories),
            directory_url=external_url("vouchers.directory"), activate_url=external_url("vouchers.activate_letter"))


def batch_html(parts: list[str]) -> str:
    return render_template("vouchers/letters_document.html", title=_("Letters"), letters=[Markup(p) for p in parts])


def batch_pdf(html: str, letters: int) -> bytes:
    """The batch's PDF, refused unless it has exactly one page per letter."""
    from weasyprint import HTML
    html_arguments, pdf_arguments = weasyprint_arguments()
    try:
        document = HTML(string=html, **html_arguments).render(**pdf_arguments)
    except DocumentError:
        raise
    except Exception as exc:  # WeasyPrint raises many kinds; callers need one
        raise DocumentError(str(exc)) from exc
    if len(document.pages) != letters:
        raise LetterOverflow(f"{letters} letters rendered to {len(document.pages)} pages")
    return document.write_pdf()


INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")


class PdfStream:
    """One PDF written page by page into `out` (a binary file) from the pages of other PDFs."""

    CATALOG, PAGES = 1, 2   # written last, with the page list

    def __init__(self, out):
        self.out = out
        self.offsets = array("Q", [0, 0, 0])   # by object number; 0 and the two above filled at the end
        self.pages = array("Q")
        self.position = 0
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, raw: bytes) -> None:
        self.out.write(raw)
        self.position += len(raw)

    def add(self, pdf: bytes) -> int:
        """Append every page of `pdf`; returns how many."""
        reader = PdfReader(BytesIO(pdf))
        numbers: dict[int, int] = {}
        waiting: list = []

        def number(reference: IndirectObject, value=None) -> int:
            if reference.idnum not in numbers:
                numbers[reference.idnum] = len(self.offsets)
                self.offsets.append(0)
                waiting.append((reference.idnum, value if value is not None else reference))
            return numbers[reference.idnum]

        for original in reader.pages:
            page = DictionaryObject(original)
            for name in INHERITED:  # what a page may take from the page tree we leave behind
                if name not in page:
                    node = page
                    while name not in node and "/Parent" in node:
                        node = node["/Parent"].get_object()
                    if name in node:
                        page[NameObject(name)] = node[name]
            self.pages.append(number(original.indirect_reference, page))
        while waiting:
            idnum, value = waiting.pop()
            body = BytesIO()
            _serialise(value.get_object(), body, number, self.PAGES)
            self.offsets[numbers[idnum]] = self.position
            self._write(b"%d 0 obj\n" % numbers[idnum] + body.getvalue() + b"\nendobj\n")
        return len(reader.pages)

    def close(self) -> None:
        """Write the catalog, the page list and the cross-reference table."""
        self.offsets[self.CATALOG] = self.position
        self._write(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
        self.offsets[self.PAGES] = self.position
        self._write(b"2 0 obj\n<< /Type /Pages /Count %d /Kids [" % len(self.pages))
        for start in range(0, len(self.pages), 10_000):
            self._write(b"".join(b"%d 0 R " % n for n in self.pages[start:start + 10_000]))
        self._write(b"] >>\nendobj\n")
        xref = self.position
        self._write(b"xref\n0 %d\n0000000000 65535 f \n" % len(self.offsets))
        for start in range(1, len(self.offsets), 10_000):
            self._write(b"".join(b"%010d 00000 n \n" % o for o in self.offsets[start:start + 10_000]))
        self._write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(self.offsets), xref))


def _serialise(value, out, number, pages: int) -> None:
    """`value` as PDF syntax, its references renumbered by `number`; a page's /Parent becomes the
    page list `pages`."""
    if isinstance(value, IndirectObject):
        out.write(b"%d 0 R" % number(value))
    elif isinstance(value, DictionaryObject):
        stream, page = isinstance(value, StreamObject), value.get("/Type") == "/Page"
        out.write(b"<<")
        for name, item in value.items():
            if stream and name == "/Length":
                continue
            out.write(b" " + name.encode() + b" ")
            if page and name == "/Parent":
                out.write(b"%d 0 R" % pages)
            else:
                _serialise(item, out, number, pages)
        if stream:
            data = value._data  # as stored in the file: still compressed, copied as it is
            out.write(b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
        else:
            out.write(b" >>")
    elif isinstance(value, ArrayObject):
        out.write(b"[")
        for item in value:
            out.write(b" ")
            _serialise(item, out, number, pages)
        out.write(b" ]")
    else:
        value.write_to_stream(out)
