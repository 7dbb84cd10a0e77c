"""Notifications benchmark: one event for 100,000 people, drained to a local SMTP sink.

    python -m bench.notifications          # 100,000 recipients
    BENCH_QUICK=1 python -m bench.notifications   # 2,000, in seconds

It measures (1) the time `emit` takes inside the triggering transaction for
growing audiences (it must stay flat: one outbox row whatever the audience),
(2) the fan-out into notifications and queued messages, and (3) delivery in
messages per second with one worker, then with two worker processes sharing
the queue. The database is BENCH_DATABASE_URL (its schema is DROPPED and
rebuilt: never point it at real data), else a temporary SQLite file, where two
workers take turns rather than run side by side."""
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.accounts.models import User  # noqa: E402
from app.config import normalise_database_url  # noqa: E402
from app.database import transaction  # noqa: E402
from app.extensions import db  # noqa: E402
from app.notifications.models import MailMessage  # noqa: E402
from app.notifications.operations import emit  # noqa: E402
from app.notifications.registry import register_event  # noqa: E402
from app.notifications.worker import deliver_batch, fan_out_batch  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK") == "1"
RECIPIENTS = 2_000 if QUICK else 100_000
INSTANCE = Path(tempfile.mkdtemp(prefix="bench-notifications-"))


def _database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    return normalise_database_url(url) if url else f"sqlite:///{INSTANCE / 'bench.sqlite'}"


def make_app(smtp_port: int):
    app = create_app({"SQLALCHEMY_DATABASE_URI": _database_url(), "INSTANCE_PATH": str(INSTANCE),
                      "SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
                      "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_port, "MAIL_BATCH": 200,
                      "NOTIFICATIONS_BATCH": 5_000})
    return app


# A national programme's "voucher received": everyone enrolled hears of it. The audience is
# a SELECT, so the worker pages through it and never holds the whole list.
def _holders(event):
    return select(User.id.label("uid")).where(User.id <= event.context["holders_up_to"])


register_event("bench.voucher_received", sentence="You received a voucher of the %(programme)s programme.",
               label="Voucher received", link=lambda event: "/", audience=_holders)


def setup_database(app):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        db.create_all()
        rows = [{"email": f"holder{i}@example.org", "name": f"Holder {i}", "locale": ("en", "es", "it", "ca")[i % 4],
                 "active": True, "failed_logins": 0, "auth_version": 1} for i in range(1, RECIPIENTS + 1)]
        for start in range(0, len(rows), 10_000):
            db.session.execute(insert(User), rows[start:start + 10_000])
        db.session.commit()


def time_emit(app, audience: int) -> float:
    """Seconds the triggering transaction spends on the notification (emit + commit)."""
    with app.app_context():
        started = time.perf_counter()
        with transaction():
            emit("bench.voucher_received", "programme", 1, programme="Cura", holders_up_to=audience)
        return time.perf_counter() - started


def fan_out(app) -> float:
    with app.app_context(), app.test_request_context():
        started = time.perf_counter()
        while fan_out_batch():
            pass
        return time.perf_counter() - started


def _worker(port: int, counter):
    app = make_app(port)
    with app.app_context(), app.test_request_context():
        sent = 0
        while (done := deliver_batch()):
            sent += done
        counter.put(sent)
        db.engine.dispose()


def deliver(app, port: int, workers: int) -> tuple[int, float]:
    with app.app_context():
        db.engine.dispose()  # no connection may cross into the worker processes
    counter = multiprocessing.Queue()
    started = time.perf_counter()
    processes = [multiprocessing.Process(target=_worker, args=(port, counter)) for _ in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    return sum(counter.get() for _ in processes), elapsed


async def _smtp_session(reader, writer, received):
    """Just enough SMTP to accept mail and count it: a sink that keeps up with the workers
    (aiosmtpd, which the tests use, parses every line and becomes the bottleneck here)."""
    writer.write(b"220 sink ESMTP\r\n")
    while line := await reader.readline():
        verb = line[:4].upper()
        if verb == b"DATA":
            writer.write(b"354 go ahead\r\n")
            await reader.readuntil(b"\r\n.\r\n")
            received.value += 1
            writer.write(b"250 accepted\r\n")
        elif verb == b"EHLO":
            writer.write(b"250-sink\r\n250 8BITMIME\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            break
        else:
            writer.write(b"250 ok\r\n")
        await writer.drain()
    writer.close()


def _sink(port: int, received, stop):
    import asyncio

    async def serve():
        server = await asyncio.start_server(lambda r, w: _smtp_session(r, w, received), "127.0.0.1", port,
                                            limit=1 << 22)
        async with server:
            while not stop.is_set():
                await asyncio.sleep(0.2)
    asyncio.run(serve())


class Sink:
    def __init__(self):
        import socket
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.received = multiprocessing.Value("l", 0, lock=False)
        self.stopping = multiprocessing.Event()
        self.process = multiprocessing.Process(target=_sink, args=(self.port, self.received, self.stopping))

    def start(self):
        import socket
        self.process.start()
        for _ in range(100):  # until it answers
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the SMTP sink did not start")

    def stop(self) -> int:
        self.stopping.set()
        self.process.join()
        return self.received.value


def _empty_outbox(app):
    with app.app_context():
        tables = "notifications, mail_messages, outbox_attachments, outbox_events"
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"TRUNCATE {tables} CASCADE"))
        else:
            for table in tables.split(", "):
                db.session.execute(text(f"DELETE FROM {table}"))
        db.session.commit()


def main():
    sink = Sink().start()
    app = make_app(sink.port)
    print(f"Database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}; recipients: {RECIPIENTS:,}")
    setup_database(app)

    sizes = sorted({10, RECIPIENTS // 100, RECIPIENTS // 10, RECIPIENTS})
    emits = {size: min(time_emit(app, size) for _ in range(3)) for size in sizes}
    _empty_outbox(app)  # only the full-size event is delivered below: drop the smaller ones
    for size, seconds in emits.items():
        print(f"emit for {size:>7,} recipients: {seconds * 1000:6.2f} ms (the triggering transaction)", flush=True)

    results = {}
    for workers in (1, 2):
        time_emit(app, RECIPIENTS)
        spread = fan_out(app)
        sent, elapsed = deliver(app, sink.port, workers)
        with app.app_context():
            left = db.session.execute(select(func.count(MailMessage.id))
                                      .where(MailMessage.status != "sent")).scalar_one()
        results[workers] = sent / elapsed
        print(f"{workers} worker(s): fan-out {RECIPIENTS:,} in {spread:.1f} s "
              f"({RECIPIENTS / spread:,.0f} recipients/s); delivered {sent:,} in {elapsed:.1f} s = "
              f"{sent / elapsed:,.0f} messages/s; not sent: {left}", flush=True)
        _empty_outbox(app)
    received = sink.stop()
    print(f"SMTP sink received {received:,} messages (expected {2 * RECIPIENTS:,}: none twice)")
    return emits, results


if __name__ == "__main__":
    main()
