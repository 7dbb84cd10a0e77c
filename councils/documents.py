"""PDF documents of a council: a meeting's minutes and the council's composition,
each in the language the meeting (or the council) is held in."""
from datetime import date
from pathlib import Path

from flask_babel import force_locale
from flask_babel import gettext as _

from app.documents import STATIC, DocumentError, render_html

from . import operations as ops
from .models import Council, Meeting


def _local_fetcher():
    """A WeasyPrint URL fetcher that reads only files under static/ (no network).

    The core's `app.documents.render_pdf` passes a plain function, which
    WeasyPrint 70 no longer accepts (it wants a `URLFetcher`); this is the
    small helper the core should adopt."""
    from weasyprint.urls import URLFetcher

    class LocalFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if not url.startswith("file://"):
                raise ValueError(f"refusing to fetch {url}")
            path = Path(url[len("file://"):].split("?")[0]).resolve()
            if STATIC.resolve() not in path.parents:
                raise ValueError(f"refusing to read {path}")
            return super().fetch(url, headers)

    return LocalFetcher(allowed_protocols=("file",))


def render_pdf(template: str, *, locale: str, reference: str, title: str, **context) -> bytes:
    from weasyprint import HTML
    html = render_html(template, locale=locale, reference=reference, title=title, **context)
    try:
        return HTML(string=html, base_url=str(STATIC) + "/", url_fetcher=_local_fetcher()).write_pdf()
    except Exception as exc:  # WeasyPrint raises many kinds; callers need one
        raise DocumentError(str(exc)) from exc


def minutes_pdf(meeting: Meeting) -> bytes:
    with force_locale(meeting.locale):
        title = _("Minutes of %(meeting)s", meeting=meeting.title)
    return render_pdf("councils/minutes_pdf.html", locale=meeting.locale,
                      reference=f"{meeting.council.slug.upper()}-M{meeting.id}", title=title,
                      meeting=meeting, council=meeting.council, quorum=ops.quorum(meeting),
                      offices=ops.appointments_on(meeting.council, meeting.on), notes=ops.RESULT_NOTES)


def composition_pdf(council: Council, on: date) -> bytes:
    with force_locale(council.locale):
        title = _("Composition of %(council)s", council=council.name)
    return render_pdf("councils/composition_pdf.html", locale=council.locale,
                      reference=f"{council.slug.upper()}-C{on.isoformat()}", title=title, council=council,
                      on=on, term=ops.term_on(council, on), seats=ops.composition(council, on),
                      offices=ops.appointments_on(council, on), schedule=ops.schedule(council, 4, on))
