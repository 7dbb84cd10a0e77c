"""`flask --app app councils …`: the rotation schedule and what officials must act on."""
import click
from flask import current_app
from flask.cli import with_appcontext

from app.i18n import city_today

from . import chairs, terms
from . import operations as ops


@click.group("councils")
def councils():
    """Joint councils."""


@councils.command("schedule")
@click.argument("slug")
@click.option("--terms", "count", default=6, show_default=True, help="How many terms to show.")
@with_appcontext
def schedule(slug, count):
    """Print the terms of a council and the side that chairs each."""
    council = ops.council_by_slug(slug)
    for term in terms.schedule(council, count, city_today()):
        click.echo(f"term {term.number:>3}  {term.start} – {term.end}  chair: {term.chair_side.value:<10} "
                   f"vice-chair: {term.vice_chair_side.value}")


@councils.command("warnings")
@with_appcontext
def warnings():
    """Print, for every council, what officials must act on (run daily from cron)."""
    today = city_today()
    # Messages are translated: a request context gives them the city's default language.
    with current_app.test_request_context():
        for council in ops.all_councils():
            for alert in chairs.warnings(council, today):
                click.echo(f"{council.slug}: [{alert.level}] {alert.message}")


COMMANDS = [councils]
