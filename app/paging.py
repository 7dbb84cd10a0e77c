"""Pages of a long list whose cost does not grow with the list.

`db.paginate` counts every matching row to print "page 3 of 5,000": at a national
scale that count reads the whole register on every request. `capped_page` counts at
most `max_pages` pages' worth of rows ("page 3 of more than 50") and learns whether
a next page exists by reading one row more than it shows, so page-number URLs keep
working at any depth (a deep page still costs its OFFSET)."""
from dataclasses import dataclass, field
from math import ceil

from sqlalchemy import bindparam, func, inspect, select, tuple_

from .extensions import db


@dataclass
class CappedPage:
    items: list
    page: int
    per_page: int
    total: int                 # rows counted, at most the cap
    capped: bool               # there are more rows than were counted
    has_next: bool
    extra: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(ceil(self.total / self.per_page), self.page if self.items else 0)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None


def capped_page(stmt, *, page: int = 1, per_page: int = 20, max_pages: int = 50) -> CappedPage:
    """`stmt` is an ORM select of one entity, already filtered and ordered."""
    page = max(page or 1, 1)
    rows = db.session.execute(stmt.limit(per_page + 1).offset((page - 1) * per_page)).scalars().all()
    cap = per_page * max_pages
    entity = stmt.column_descriptions[0]["entity"]
    ids = select(inspect(entity).primary_key[0])
    if stmt.whereclause is not None:
        ids = ids.where(stmt.whereclause)
    counted = db.session.execute(select(func.count()).select_from(ids.limit(cap + 1).subquery())).scalar_one()
    return CappedPage(items=rows[:per_page], page=page, per_page=per_page, total=min(counted, cap),
                      capped=counted > cap, has_next=len(rows) > per_page)


@dataclass
class KeysetPage:
    """A page of a history read newest first from a cursor (the key of the row it continues
    from), never from an OFFSET: any page costs what the first one does."""
    items: list
    per_page: int
    newer: str | None          # the cursor for the page of newer rows (`after=`), None on the newest
    older: str | None          # the cursor for the page of older rows (`before=`), None on the oldest


def cursor_text(key: tuple) -> str:
    return ".".join(str(int(part)) for part in key)


def parse_cursor(text: str | None, parts: int) -> tuple | None:
    """A cursor from a URL: `parts` whole numbers joined by dots, else None (the newest page)."""
    pieces = (text or "").split(".")
    if len(pieces) != parts or not all(piece.isdigit() and len(piece) <= 18 for piece in pieces):
        return None
    return tuple(int(piece) for piece in pieces)


def keyset_page(query, key_of, parts: int, *, before: str | None = None, after: str | None = None,
                per_page: int = 50, page: int | None = None) -> KeysetPage:
    """The rows `query(key, newer, limit)` reads, newest first. A row's key is `key_of(row)`, a tuple
    of `parts` whole numbers in a unique order (newest = greatest); `query` returns at most `limit`
    rows, those older than `key` newest first (all when `key` is None), or with `newer` those newer
    than `key` oldest first (`keyset_rows` does it for one select). `before`/`after` are the
    cursors of the page's links; a malformed one means the newest page. `page` (1, 2, …, without
    cursors) is the numbered page API clients written before the cursors ask for: it reads the rows
    before it too, as an OFFSET would, and answers with the cursors to go on from there."""
    if page and page > 1 and not (before or after):
        skip = (page - 1) * per_page
        rows = list(query(None, False, skip + per_page + 1))[skip:]
        items = rows[:per_page]
        return KeysetPage(items, per_page, cursor_text(key_of(items[0])) if items else None,
                          cursor_text(key_of(items[-1])) if len(rows) > per_page else None)
    after_key = parse_cursor(after, parts)
    before_key = None if after_key else parse_cursor(before, parts)
    if after_key is not None:
        rows = list(query(after_key, True, per_page + 1))
        if len(rows) > per_page:
            items = rows[:per_page][::-1]
            return KeysetPage(items, per_page, cursor_text(key_of(items[0])), cursor_text(key_of(items[-1])))
        # Fewer newer rows than a page: the newest page, full.
    rows = list(query(before_key, False, per_page + 1))
    items = rows[:per_page]
    return KeysetPage(items, per_page, cursor_text(key_of(items[0])) if before_key and items else None,
                      cursor_text(key_of(items[-1])) if len(rows) > per_page else None)


def keyset_rows(stmt, columns: list, key: tuple | None, newer: bool, limit: int):
    """`stmt` limited to the rows beyond `key` on `columns`, in the order keyset_page asks."""
    if key is not None:
        row_value, bound = (tuple_(*columns), tuple_(*key)) if len(columns) > 1 else (columns[0], key[0])
        stmt = stmt.where(row_value > bound if newer else row_value < bound)
    return stmt.order_by(*(columns if newer else [c.desc() for c in columns])).limit(limit)


# A history page reads one of a few selects on every visit: each is built once per kind of page (the
# newest, older, newer: an lru_cache around `bound_keyset_rows`), its values bound at each read.
# Building a select and its cache key is some hundreds of Python calls.
def bound_keyset_rows(stmt, column, keyed: bool, newer: bool):
    """keyset_rows on one column, with the key and the limit left to bind (`key_id`, `limit`)."""
    return keyset_rows(stmt, [column], (bindparam("key_id"),) if keyed else None, newer, bindparam("limit"))


def bound_keyset_query(statement_for, values: dict, rows=lambda result: result.scalars().all(),
                       key_names: tuple = ("key_id",)):
    """The `query` keyset_page asks for, reading `statement_for(keyed, newer)` (a cached select,
    such as bound_keyset_rows) with `values`, the page's limit and its key's parts bound (as
    `key_names`, in order)."""
    def query(key, newer, limit):
        bound = dict(values, limit=limit)
        if key is not None:
            bound.update(zip(key_names, key))
        return rows(db.session.execute(statement_for(key is not None, newer), bound))
    return query
