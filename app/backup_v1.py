"""Reading backups of format 1 (JSON lines, until Dec 2026), so a city's existing files restore."""
import base64
import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, LargeBinary, Numeric

FORMAT = "procomun-backup/1"


def member(table) -> str:
    return f"tables/{table.name}.jsonl"


def _decoder(column):
    kind = column.type
    impl = getattr(kind, "impl", kind)  # TypeDecorators (UTCDateTime) decode as what they wrap
    if isinstance(impl, DateTime):
        return datetime.fromisoformat
    if isinstance(impl, Date):
        return date.fromisoformat
    if isinstance(impl, LargeBinary):
        return base64.b64decode
    if isinstance(impl, Numeric) and getattr(impl, "asdecimal", False):
        return Decimal
    return None


def rows(lines, table):
    """The rows of `table` in its member's `lines`, as dicts ready for `table.insert()`."""
    decoders = {c.name: d for c in table.columns if (d := _decoder(c))}
    for line in lines:
        row = json.loads(line)
        for key, decode in decoders.items():
            if row.get(key) is not None:
                row[key] = decode(row[key])
        yield row
