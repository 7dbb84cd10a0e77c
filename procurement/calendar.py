"""Tender deadlines as a calendar the co-operatives subscribe to (app/calendars.py: why these
events update). A deadline's SEQUENCE is the number of amendments of its tender: each one
(a deadline extended, the tender cancelled) is a change its subscribers must see."""
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.calendars import calendar, event, uid
from app.extensions import db
from app.urls import external_url

from .models import Amendment, Phase, Process, Release


def tender_deadlines_calendar():
    changed = dict(db.session.execute(select(Release.process_id, func.max(Release.date))
                                      .group_by(Release.process_id)).all())
    amended = dict(db.session.execute(select(Amendment.process_id, func.count(Amendment.id))
                                      .where(Amendment.scope == "tender").group_by(Amendment.process_id)).all())
    processes = db.session.execute(select(Process).where(Process.published_at.is_not(None),
                                                         Process.bid_deadline.is_not(None))
                                   .order_by(Process.bid_deadline, Process.id)).scalars()
    cal = calendar(_("Social procurement: tender deadlines"), "Social procurement")
    for process in processes:
        cal.add_component(event(uid("tender-deadline", process.id),
                                _("Bids for “%(title)s” close (%(reference)s)", title=process.title,
                                  reference=process.reference),
                                starts=process.bid_deadline, changed=changed.get(process.id) or process.published_at,
                                created=process.published_at, sequence=amended.get(process.id, 0),
                                cancelled=process.phase == Phase.CANCELLED,
                                description=process.department.name,
                                url=external_url("procurement.show", process_id=process.id)))
    return cal
