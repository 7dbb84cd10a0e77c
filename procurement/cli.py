"""`flask procurement …`: the register and its open data from scripts."""
import click
from flask.cli import AppGroup

from . import flags, processes, releases
from .opendata import dump_package

procurement_cli = AppGroup("procurement", help="Social procurement processes and their open data.")


@procurement_cli.command("list")
def list_processes():
    """Every process with its phase and, once awarded, its supplier."""
    for process in processes.search(None, per_page=10_000, internal=True).items:
        supplier = process.award.supplier.name if process.award else ""
        click.echo(f"{process.reference}\t{process.phase}\t{process.procedure}\t{process.title}\t{supplier}")


@procurement_cli.command("ocds")
@click.option("--output", "-o", type=click.File("w"), default="-", help="File to write (default: stdout).")
def ocds(output):
    """Write every OCDS release ever published, as one release package."""
    dump_package(output)


@procurement_cli.command("backfill-releases")
def backfill_releases():
    """Publish one release, from its current state, for each published process that has none
    (`flask db upgrade` does it too, once the database is at the newest revision)."""
    click.echo(f"{releases.publish_missing()} releases published")


@procurement_cli.command("flags")
def raise_flags():
    """Recompute the red flags of every published process (run nightly: some flags, such as a
    commitment overdue or an accreditation expired, are raised by the date alone)."""
    click.echo(f"{flags.refresh()} red flags stand")


COMMANDS = [procurement_cli]
