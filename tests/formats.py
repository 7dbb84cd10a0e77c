"""What a reader sees of a page must be written as the reader writes dates, times and numbers:
no ISO date in a sentence ("che termina il 2027-12-31"), no time with seconds ("5:00:00 PM")."""
import html
import re

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
SECONDS = re.compile(r"\b\d{1,2}:\d\d:\d\d\b")


def visible_text(page: str) -> str:
    """The text a reader sees: no scripts or styles, no tags (so no attribute values: an ISO date
    in a datetime= or value= attribute is for machines), entities decoded. Option labels count."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def raw_forms(text: str) -> list[str]:
    """The ISO dates and times with seconds found in `text`."""
    return ISO_DATE.findall(text) + SECONDS.findall(text)
