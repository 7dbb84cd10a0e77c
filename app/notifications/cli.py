"""`flask outbox …` (the worker and digests) and `flask reminders send`."""
import signal
import time
from datetime import date

import click
from flask.cli import AppGroup

from ..database import utcnow
from ..progress import progress_bar
from .reminders import send_reminders
from .worker import digest_cutoff, drain, queue_digests, waiting_digest_notices, work_once

outbox_cli = AppGroup("outbox", help="Deliver notifications: the worker and the daily digest.")
reminders_cli = AppGroup("reminders", help="Time-based notifications (run daily from cron).")


@outbox_cli.command("work")
@click.option("--once", is_flag=True, help="Deliver everything due, then exit.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds to wait when idle.")
def work(once, interval):
    """Fan events out and deliver emails; several may run at once on PostgreSQL."""
    if once:
        click.echo(f"Worked through {drain()} items.")
        return
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    click.echo("Outbox worker started (Ctrl-C to stop).")
    while not stopping:
        if not work_once():
            time.sleep(interval)
    click.echo("Outbox worker stopped.")


@outbox_cli.command("digest")
@click.option("--now", "up_to_now", is_flag=True,
              help="Include notices up to now, not only before today's digest hour.")
def digest(up_to_now):
    """Group each person's waiting digest notices into one email (the worker then sends it)."""
    until = utcnow() if up_to_now else digest_cutoff()
    with progress_bar(waiting_digest_notices(until), "Grouping digests") as advance:
        count = queue_digests(until, progress=advance)
    click.echo(f"Queued {count} digest emails.")


@reminders_cli.command("send")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Pretend today is this date (city time).")
def send(today):
    """Emit every reminder due today that was never sent before."""
    day: date | None = today.date() if today else None
    click.echo(f"Sent {send_reminders(day)} reminders.")


COMMANDS = [outbox_cli, reminders_cli]
