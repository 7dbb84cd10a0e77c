"""PostgreSQL's COPY text format (pg_dump's own) written and read in Python, for SQLite.

One line a row, fields separated by tabs, `\\N` for NULL, backslash escapes for backslash, tab,
newline and carriage return; values as PostgreSQL prints them under the settings the backup
sets (ISO dates, instants with their UTC offset, `\\x`-hex bytes, `t`/`f`, JSON text, enum
names). PostgreSQL loads such a line with COPY as it is, so a backup taken on SQLite restores
into PostgreSQL, and one taken on PostgreSQL restores into SQLite."""
import json
import re
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, LargeBinary, Numeric, Time, TypeDecorator

NULL = "\\N"
_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# COPY TO writes only these; any other backslashed character stands for itself, as COPY FROM reads it.
_UNESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_UNESCAPE = re.compile(r"\\(.)", re.S)


def _kind(column):
    kind = column.type
    return kind.impl if isinstance(kind, TypeDecorator) else kind  # UTCDateTime is a DateTime


def _text(value) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return "\\x" + bytes(value).hex()
    return str(value)


def _json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def encoders(table) -> list:
    """For each column of `table`, the function printing a (non-NULL) value as PostgreSQL would."""
    return [_json_text if isinstance(_kind(c), JSON) else _text for c in table.columns]


def line(values, encode) -> bytes:
    """One row as a COPY text line."""
    return ("\t".join(NULL if v is None else f(v).translate(_ESCAPE) for f, v in zip(encode, values))
            + "\n").encode()


def _boolean(text: str) -> bool:
    return text in ("t", "true")


def _bytes(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def _decoder(column):
    kind = _kind(column)
    for types, decode in ((Boolean, _boolean), (DateTime, datetime.fromisoformat), (Date, date.fromisoformat),
                          (Time, time.fromisoformat), (LargeBinary, _bytes), (JSON, json.loads),
                          (Integer, int)):
        if isinstance(kind, types):
            return decode
    if isinstance(kind, Numeric):
        return Decimal if kind.asdecimal else float
    return None  # text and enum names (SQLAlchemy's Enum takes a member's name) as they are


def decoders(columns) -> list:
    return [_decoder(c) for c in columns]


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return _UNESCAPE.sub(lambda m: _UNESCAPES.get(m.group(1), m.group(1)), text)


def values(raw: bytes, decode) -> list:
    """The Python values of one COPY text line; ValueError if it is not one of `decode`'s width."""
    fields = raw.decode().removesuffix("\n").split("\t")
    if len(fields) != len(decode):
        raise ValueError(f"a line has {len(fields)} fields, not {len(decode)}")
    out = []
    for field, f in zip(fields, decode):
        if field == NULL:
            out.append(None)
        else:
            field = _unescape(field)
            out.append(f(field) if f else field)
    return out
