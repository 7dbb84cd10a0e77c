"""`flask --app app accountability import FILE [--dry-run]` and `accountability export`."""
import click
from flask import current_app
from flask.cli import with_appcontext

from . import exchange


@click.group("accountability")
def accountability():
    """Results, their progress and the CSV round-trip."""


@accountability.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8"), default="-")
@with_appcontext
def export(file):
    """Write every result as the CSV the import reads."""
    with current_app.test_request_context():
        file.write(exchange.export_csv())


@accountability.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--dry-run", is_flag=True, help="Check every row and say what would change; write nothing.")
@with_appcontext
def import_(file, dry_run):
    """Read a CSV as the export writes it: every row is checked first; a refused row and nothing is written."""
    with current_app.test_request_context():
        plan = exchange.import_csv(file.read(), dry_run=dry_run)
        for row in plan.rows:
            if row.outcome == "refused":
                click.echo(f"line {row.line}: {row.id or '-'}: refused: {row.reason}")
            elif row.outcome != "unchanged":
                click.echo(f"line {row.line}: {row.id}: {row.outcome}: {row.changes}")
        if plan.refused:
            click.echo("nothing written: correct the refused lines" if not dry_run else "dry run: nothing written")
        elif dry_run:
            click.echo("dry run: nothing written")
        click.echo(plan.summary())
    if plan.refused:
        raise SystemExit(1)


COMMANDS = [accountability]
