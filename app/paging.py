"""Pages of a long list whose cost does not grow with the list.

`db.paginate` counts every matching row to print "page 3 of 5,000": at a national
scale that count reads the whole register on every request. `capped_page` counts at
most `max_pages` pages' worth of rows ("page 3 of more than 50") and learns whether
a next page exists by reading one row more than it shows, so page-number URLs keep
working at any depth (a deep page still costs its OFFSET)."""
from dataclasses import dataclass, field
from math import ceil

from sqlalchemy import func, inspect, select

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
