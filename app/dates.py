"""Calendar arithmetic shared by the modules (terms, report rhythms, validity periods), and the
one range of dates a person or a program may enter."""
import calendar
from datetime import date, datetime, timezone

from flask import current_app
from flask_babel import format_date, gettext


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def date_range() -> tuple[date, date]:
    """The first and last day anyone may enter (PROCOMUN_DATE_MIN_YEAR to _MAX_YEAR, 1900 to 2200
    by default): far beyond any pact, term or voucher, and far inside what every time zone,
    the databases and the calendar formats can convert."""
    cfg = current_app.config
    return date(cfg["PROCOMUN_DATE_MIN_YEAR"], 1, 1), date(cfg["PROCOMUN_DATE_MAX_YEAR"], 12, 31)


def in_range(value: date | datetime) -> bool:
    """Whether a typed date, or a datetime on the calendar day it was typed in (before any
    conversion, which could overflow at the ends), is within date_range()."""
    first, last = date_range()
    return first <= (value.date() if isinstance(value, datetime) else value) <= last


def out_of_range_message() -> str:
    first, last = date_range()
    return gettext("Give a date from %(first)s to %(last)s.", first=format_date(first, "long"),
                   last=format_date(last, "long"))


def in_zone(value: datetime, zone) -> datetime:
    """`value` in `zone`; an instant stored so near year 1 or 9999 that the zone's offset would
    carry it off the calendar stays in UTC: a page shows it as stored instead of failing."""
    try:
        return value.astimezone(zone)
    except OverflowError:
        return value.astimezone(timezone.utc)
