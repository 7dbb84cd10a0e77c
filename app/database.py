"""Database plumbing shared by every module: connection settings and the
one-transaction-per-operation helper that every write goes through."""
import atexit
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone

from sqlalchemy import DateTime, any_, bindparam, event, exc
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool
from sqlalchemy.types import TypeDecorator

from .extensions import db

_depth: ContextVar[int] = ContextVar("transaction_depth", default=0)
_begin_immediate: ContextVar[bool] = ContextVar("begin_immediate", default=False)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored in UTC on both databases.

    SQLite keeps no zone, so values are normalised to UTC on the way in and
    marked UTC on the way out; a naive datetime is a programming error."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware value")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def locked_row(model, row_id: int):
    """The row of `model` with this id, read afresh and locked until the transaction ends (FOR
    UPDATE on PostgreSQL; SQLite's write lock already makes writers take turns), or None."""
    from sqlalchemy import select
    stmt = select(model).where(model.id == row_id).execution_options(populate_existing=True)
    if not is_sqlite():
        stmt = stmt.with_for_update(of=model)
    return db.session.execute(stmt).scalar_one_or_none()


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def among(column, values):
    """`column IN values` for a few thousand values: on PostgreSQL one array parameter (= ANY), as
    the driver spends more time placing 10,000 parameters into a statement than the database
    spends running it; SQLite takes the list (up to 32,766 values)."""
    values = list(values)
    if is_sqlite():
        return column.in_(values)
    return column == any_(bindparam(None, values, type_=ARRAY(column.type)))


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    # Only SQLite connections carry these pragmas; psycopg connections have no isolation_level attr.
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    # We emit BEGIN ourselves (see _sqlite_begin) so that writers can take the lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _begin_immediate.get() else "BEGIN")


# Data work that needs the application's models, which match only the newest schema: run by
# `flask db upgrade` (migrations/env.py) once the database has reached the newest revision.
AFTER_UPGRADE = []


def after_upgrade(function):
    """Declare `function()` to run after every upgrade that reaches the newest revision
    (idempotent work: a backfill of what an older version did not write)."""
    AFTER_UPGRADE.append(function)
    return function


@contextmanager
def transaction():
    """Run the enclosed writes as one transaction: all of them commit, or none.

    Operations open it; views never commit. Nested calls join the outer
    transaction. On SQLite the transaction begins IMMEDIATE, so concurrent
    writers queue on the database lock instead of failing half-way; a read
    transaction already open in the session (loading the current user, say) is
    closed first because SQLite cannot upgrade it safely."""
    depth = _depth.get()
    if depth:
        token = _depth.set(depth + 1)
        try:
            yield db.session
        finally:
            _depth.reset(token)
        return
    session = db.session()
    if session.in_transaction() and is_sqlite():
        session.commit()
    token = _depth.set(1)
    immediate = _begin_immediate.set(True)
    try:
        if not session.in_transaction():
            session.begin()
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _begin_immediate.reset(immediate)
        _depth.reset(token)


def run_raw(connection, statement: str, parameters=()):
    """Run one SQL statement straight on the DBAPI cursor of a SQLAlchemy `connection` (in its
    transaction) and return the cursor: for the few hottest paths, where SQLAlchemy's execution
    context costs more than the statement. Cursor events still fire (statement counters see it),
    and errors come out as SQLAlchemy's (IntegrityError, OperationalError…, a lost connection
    invalidated) so callers and error handlers treat them as usual. `statement` is written in the
    driver's own parameter style."""
    cursor = None
    try:
        # Inside the try: a connection the driver already knows is closed refuses even a cursor.
        cursor = connection.connection.cursor()
        dispatch = connection.dispatch
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(connection, cursor, statement, parameters, None, False)
        cursor.execute(statement, parameters)
    except connection.dialect.loaded_dbapi.Error as error:
        lost = connection.dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor)
        if lost:
            # The server went away (a restart, a failover): every pooled connection is as dead as this
            # one. SQLAlchemy's own execution path would invalidate the whole pool; do the same.
            connection.invalidate(error)
            connection.engine.dispose()
        raise exc.DBAPIError.instance(statement, parameters, error, connection.dialect.loaded_dbapi.Error,
                                      connection_invalidated=lost, dialect=connection.dialect) from error
    return cursor


def roll_back_or_drop() -> None:
    """Roll the session back. A connection that died with its transaction open (a database
    restart) fails its rollback too: it is dropped instead, so the answer is still a clear one."""
    try:
        db.session.rollback()
    except exc.SQLAlchemyError:
        db.session().invalidate()  # scoped_session does not proxy invalidate


def end_session(_error=None) -> None:
    """End the request's session (the app context's teardown, instead of Flask-SQLAlchemy's
    plain `remove`), whatever state its connection is in: a connection the server cut after the
    answer was made is dropped, and the answer stands instead of turning into a 500."""
    if db.session.registry.has():  # a request that never used the session (a till's) makes none
        roll_back_or_drop()
    db.session.remove()


def end_sessions_safely(app) -> None:
    """Put end_session in the place of Flask-SQLAlchemy's teardown (its order kept)."""
    hooks = app.teardown_appcontext_funcs
    hooks[hooks.index(db._teardown_session)] = end_session


def in_transaction() -> bool:
    """Whether the caller is inside `with transaction():` (writes must then join it)."""
    return _depth.get() > 0


class _HeldConnection:
    """A thread's autocommit connection, kept from one request to the next as the least app
    keeps its own: checking a connection out of the pool, switching it to autocommit and back
    and returning it cost more than the redemption's Python. Closed (back to the pool) when the
    thread ends or the application's engine changes."""

    def __init__(self, engine):
        self.engine = engine
        self.conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self.used = time.monotonic()

    def usable(self, engine) -> bool:
        conn = self.conn
        if self.engine is not engine or conn.closed or conn.invalidated:
            return False
        if getattr(conn.connection.dbapi_connection, "closed", False):
            # The driver saw the server go (a restart) after SQLAlchemy last looked: a new one.
            return False
        if time.monotonic() - self.used >= PING_AFTER_IDLE_SECONDS:
            # Idle for a while: the server may have restarted since (as the pool's ping below).
            return _answers(conn.connection.dbapi_connection)
        return True

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - a dead connection: the pool drops it
            pass

    __del__ = close


_held = threading.local()


@atexit.register
def _release_held_connection() -> None:
    # The main thread's, before the interpreter tears down the modules the driver needs.
    held = getattr(_held, "value", None)
    if held is not None:
        _held.value = None
        held.close()


def autocommit_connection():
    """This thread's connection in autocommit mode (PostgreSQL only): each statement commits on
    its own, with no BEGIN/COMMIT round trips and no ORM session. Only for a read that needs no
    snapshot (the API token lookup) or ONE statement that is a whole transaction by itself (the
    redemption's data-modifying WITH). Each worker thread keeps one (pool size: see
    DATABASE_POOL_SIZE); a thread's requests run one at a time, so it is never shared."""
    held, engine = getattr(_held, "value", None), db.engine
    if held is None or not held.usable(engine):
        if held is not None:
            held.close()
        held = _held.value = _HeldConnection(engine)
    held.used = time.monotonic()
    return held.conn


# Liveness check of pooled connections (instead of SQLAlchemy's pool_pre_ping, which sends a
# round trip before EVERY checkout, i.e. every request): a connection back in the pool for more
# than this is pinged when checked out and replaced if dead (a restarted or failed-over
# server); one used a moment ago is trusted, and if the server went away in that moment the
# statement fails, SQLAlchemy invalidates the connection and the request answers 503.
PING_AFTER_IDLE_SECONDS = 1.0


@event.listens_for(Pool, "checkin")
def _note_idle_since(dbapi_connection, connection_record):
    if connection_record is not None:
        connection_record.info["idle_since"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection, connection_record, connection_proxy):
    since = connection_record.info.pop("idle_since", None)
    if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
        return  # just opened, or used a moment ago
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        return  # a file: nothing to lose
    if not _answers(dbapi_connection):
        raise exc.DisconnectionError("the database did not answer a ping")


def _answers(dbapi_connection) -> bool:
    """Whether the server still answers on this PostgreSQL connection (a round trip, no
    transaction left open); any failure means: open a new one."""
    try:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            dbapi_connection.execute("SELECT 1")
        finally:
            dbapi_connection.autocommit = autocommit
    except Exception:  # noqa: BLE001
        return False
    return True
