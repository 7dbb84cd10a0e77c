"""PDF documents of a council: a meeting's minutes and the council's composition, with headings
and labels in the reader's language; what the council wrote (the minutes, motions, names) stays
as written."""
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _

from app.documents import render_pdf

from . import chairs, minutes, motions, seats, terms
from .models import Council, Meeting


def minutes_pdf(meeting: Meeting, locale: str) -> bytes:
    with force_locale(locale):
        title = _("Minutes of %(meeting)s", meeting=meeting.title)
    record = minutes.minutes_record(meeting)
    return render_pdf("councils/minutes_pdf.html", locale=locale,
                      reference=f"{meeting.council.slug.upper()}-M{meeting.id}", title=title,
                      meeting=meeting, council=meeting.council, quorum=record.quorum, offices=record.offices,
                      attendance=record.attendance, motions=record.motions, notes=motions.RESULT_NOTES)


def composition_pdf(council: Council, on: date, locale: str) -> bytes:
    with force_locale(locale):
        title = _("Composition of %(council)s", council=council.name)
    return render_pdf("councils/composition_pdf.html", locale=locale,
                      reference=f"{council.slug.upper()}-C{on.isoformat()}", title=title, council=council,
                      on=on, term=terms.term_on(council, on), seats=seats.composition(council, on),
                      offices=chairs.appointments_on(council, on), schedule=terms.schedule(council, 4, on))
