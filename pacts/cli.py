"""`flask pacts …`: the daily sweep and a list of what is late."""
import click
from flask.cli import AppGroup

from app.i18n import city_today

from . import lifecycle, register, reports

pacts_cli = AppGroup("pacts", help="Collaboration pacts: daily sweep and late files.")


@pacts_cli.command("sweep")
def sweep():
    """Start signed pacts whose first day has come and expire those past their last day (run daily)."""
    started, expired = lifecycle.expire_and_start()
    click.echo(f"Started {started} pact(s), expired {expired} pact(s).")


@pacts_cli.command("late")
def late():
    """Files past the answer deadline and pacts with overdue reports."""
    today = city_today()
    for pact in register.awaiting_answer(per_page=1000).items:
        if lifecycle.is_overdue(pact, today):
            click.echo(f"answer overdue\t#{pact.id}\t{pact.answer_due.isoformat()}\t{pact.title}")
    for pact in register.pacts_in_force():
        for item in reports.overdue_reports(pact, today):
            click.echo(f"report overdue\t#{pact.id}\t{item.due_on.isoformat()}\t{pact.title}")


COMMANDS = [pacts_cli]
