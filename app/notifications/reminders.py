"""`flask reminders send`: time-based events, each sent once however often it runs."""
from sqlalchemy import select

from ..database import transaction
from ..extensions import db
from ..i18n import city_today
from .models import ReminderSent
from .operations import emit
from .registry import REMINDERS


def send_reminders(today=None) -> int:
    """Ask every provider what is due today and emit what was never sent before.

    Each reminder and its dedupe row are written in one transaction, so a crash
    loses nothing and a second run the same day finds every key taken."""
    today = today or city_today()
    sent = 0
    for provider in REMINDERS:
        for reminder in provider(today):
            with transaction():
                if db.session.execute(select(ReminderSent.key).where(ReminderSent.key == reminder.key)).first():
                    continue
                event = emit(reminder.kind, reminder.subject_type, reminder.subject_id,
                             recipients=reminder.recipients, **reminder.context)
                db.session.flush()
                db.session.add(ReminderSent(key=reminder.key, event_id=event.id))
            sent += 1
    return sent
