"""The pacts' deadlines as a calendar a resident subscribes to: when each public consultation
ends, and when each pact's reports are due (app/calendars.py: why these events update)."""
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.calendars import calendar, event
from app.calendars import uid as event_uid
from app.extensions import db
from app.urls import external_url

from . import register, reports
from .models import PactEvent, PactState

REPORTING = (PactState.ACTIVE, PactState.SUSPENDED)
ENDED = (PactState.COMPLETED, PactState.TERMINATED, PactState.EXPIRED)


def deadlines_calendar():
    """Consultation ends, and the report deadlines of pacts in force or ended; the deadlines an
    ended pact will never reach are cancelled events, so subscribers' calendars drop them."""
    changed = dict(db.session.execute(select(PactEvent.pact_id, func.max(PactEvent.at))
                                      .group_by(PactEvent.pact_id)).all())
    cal = calendar(_("Collaboration pacts: deadlines"), "Collaboration pacts")
    for pact in register.all_for_export():
        last = changed.get(pact.id) or pact.created_at
        url = external_url("pacts.show", pact_id=pact.id)
        if pact.consultation_ends:
            cal.add_component(event(event_uid("pact-consultation", pact.id),
                                    _("Public consultation on “%(title)s” ends", title=pact.title),
                                    starts=pact.consultation_ends, changed=last, created=pact.created_at, url=url))
        if pact.state_enum not in REPORTING + ENDED:
            continue
        for item in reports.report_schedule(pact):
            # A report that would have fallen due after the pact ended is cancelled; the others stay as they were.
            dropped = pact.state_enum in ENDED and item.report is None and item.due_on > last.date()
            cal.add_component(event(event_uid("pact-report", pact.id, item.due_on.isoformat()),
                                    _("Report due on the pact “%(title)s”", title=pact.title),
                                    starts=item.due_on, changed=last, created=pact.created_at,
                                    sequence=1 if dropped else 0, cancelled=dropped, url=url))
    return cal
