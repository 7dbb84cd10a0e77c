"""The originals of redacted texts live only for the legal retention period."""
from datetime import date

from sqlalchemy import delete

from ..audit.operations import record
from ..database import transaction
from ..extensions import db
from ..i18n import city_today
from .models import RedactedOriginal


def purge_originals(today: date | None = None) -> int:
    """Delete every original whose retention period ended before `today` (the city's date); the
    audit trail records how many. Safe to run any number of times a day."""
    today = today or city_today()
    with transaction():
        deleted = db.session.execute(delete(RedactedOriginal).where(RedactedOriginal.keep_until < today)).rowcount
        if deleted:
            record("moderation.originals_purged", object_type="moderation_redacted_originals", object_id="",
                   after={"deleted": deleted, "kept_until_before": today.isoformat()})
    return deleted
