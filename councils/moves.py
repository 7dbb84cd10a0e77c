"""The moves an official may make on a council now, each allowed or refused with its reason and
date: the council's page shows a refused one as a disabled button with its reason, and the
operation behind it calls `check` first, so the two never disagree (pacts/moves.py and
procurement/moves.py have the same shape; a meeting's own moves are meetings.meeting_moves)."""
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from app.errors import Invalid
from app.i18n import city_today
from app.i18n import day as written_day

from .models import Council, Side
from .seats import vacant_seats


@dataclass(frozen=True)
class Move:
    name: str
    allowed: bool
    reason: object = ""  # a lazy translated sentence when refused
    field: str | None = None  # the form field the refusal concerns, if any


def _refused(name: str, reason, field: str | None = None) -> Move:
    return Move(name, False, reason, field)


def move(council: Council, name: str, today: date | None = None) -> Move:
    """Whether `name` ("seat": seat a member; "open_election": call a civil selection round) may
    be made on `council` today, as far as its seats go (who may make it is the operation's check)."""
    today = today or city_today()
    if name == "open_election" and not vacant_seats(council, Side.CIVIL, today):
        return _refused(name, _l("No civil seat is vacant, so no selection round can be called now."),
                        field="seats")
    if name == "seat" and not any(vacant_seats(council, side, today) for side in Side):
        return _refused(name, _l("Every seat of both sides is taken from %(date)s: a member must leave before "
                                 "another is seated.", date=written_day(today, "long")), field="user")
    return Move(name, True)


def moves(council: Council, today: date | None = None) -> dict[str, Move]:
    """The council page's moves, by name."""
    return {name: move(council, name, today) for name in ("seat", "open_election")}


def check(council: Council, name: str, today: date | None = None) -> None:
    """Refuse `name` with the reason the page shows beside its disabled button."""
    found = move(council, name, today)
    if not found.allowed:
        raise Invalid(found.reason, field=found.field)
