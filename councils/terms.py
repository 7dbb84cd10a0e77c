"""Terms and the Chair's rotation. A council's terms last `term_months`; the Chair's side
alternates every term, derived from the first term's start and its Chair's side (never typed)."""
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from app.dates import add_months
from app.errors import Invalid
from app.i18n import city_today

from .models import ChairRole, Council, Side


@dataclass(frozen=True)
class Term:
    number: int        # 1 for the first term
    start: date
    end: date          # the last day of the term
    chair_side: Side

    @property
    def vice_chair_side(self) -> Side:
        return self.chair_side.other

    def side_for(self, role: ChairRole) -> Side:
        return self.chair_side if role is ChairRole.CHAIR else self.vice_chair_side


def term(council: Council, number: int) -> Term:
    """Term `number` (1-based): its dates and, by alternation from the first term, its Chair's side."""
    if number < 1:
        raise Invalid(_l("Terms are numbered from 1."))
    start = add_months(council.first_term_start, (number - 1) * council.term_months)
    end = add_months(council.first_term_start, number * council.term_months) - timedelta(days=1)
    side = council.first_chair if number % 2 == 1 else council.first_chair.other
    return Term(number, start, end, side)


def term_on(council: Council, on: date) -> Term | None:
    """The term running on `on`, or None before the first term began."""
    if on < council.first_term_start:
        return None
    months = (on.year - council.first_term_start.year) * 12 + on.month - council.first_term_start.month
    number = max(1, months // council.term_months + 1)
    while term(council, number).start > on:
        number -= 1
    while term(council, number).end < on:
        number += 1
    return term(council, number)


def schedule(council: Council, count: int = 4, on: date | None = None) -> list[Term]:
    """The running term (or the first, if none has begun) and the ones after it."""
    current = term_on(council, on or city_today())
    first = current.number if current else 1
    return [term(council, n) for n in range(first, first + count)]


def terms_so_far(council: Council, on: date | None = None) -> list[Term]:
    """Every term begun by `on` (default today), the first one first."""
    current = term_on(council, on or city_today())
    return [term(council, n) for n in range(1, current.number + 1)] if current else []
