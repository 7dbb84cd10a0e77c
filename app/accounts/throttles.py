"""Counters of attempts within a fixed window, safe under concurrency: each bump is one atomic
statement (INSERT … ON CONFLICT DO UPDATE … RETURNING, on PostgreSQL and SQLite alike), so
parallel requests each see their own count and none is lost."""
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..database import transaction, utcnow
from ..extensions import db
from .models import Throttle

_KEY_LENGTH = 200


def _key(key: str) -> str:
    return key[:_KEY_LENGTH]


def bump(key: str, window: timedelta, now: datetime | None = None) -> int:
    """Count one more attempt under `key` and return the count in the current window (1 for the
    first attempt of a window; a window starts at its first attempt and lasts `window`)."""
    now = now or utcnow()
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    fresh = insert(Throttle).values(key=_key(key), hits=1, window_ends=now + window)
    expired = Throttle.window_ends <= now
    statement = fresh.on_conflict_do_update(
        index_elements=[Throttle.key],
        set_={"hits": case((expired, 1), else_=Throttle.hits + 1),
              "window_ends": case((expired, fresh.excluded.window_ends), else_=Throttle.window_ends)},
    ).returning(Throttle.hits)
    with transaction():
        return db.session.execute(statement).scalar_one()


def count(key: str, now: datetime | None = None) -> int:
    """The attempts counted under `key` in its current window (0 once the window has passed): for a
    check that only failures bump, made before the attempt."""
    hits = db.session.execute(select(Throttle.hits).where(
        Throttle.key == _key(key), Throttle.window_ends > (now or utcnow()))).scalar()
    return hits or 0


def forgive(*keys: str) -> None:
    """Take back one attempt under each key (it turned out to be a success)."""
    with transaction():
        db.session.execute(update(Throttle).where(Throttle.key.in_([_key(k) for k in keys]), Throttle.hits > 0)
                           .values(hits=Throttle.hits - 1).execution_options(synchronize_session=False))


def prune(now: datetime | None = None) -> None:
    """Forget the counters whose window has passed."""
    with transaction():
        db.session.execute(delete(Throttle).where(Throttle.window_ends <= (now or utcnow()))
                           .execution_options(synchronize_session=False))
