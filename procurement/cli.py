"""`flask procurement …`: the register and its open data from scripts."""
import json

import click
from flask.cli import AppGroup

from app.urls import public_request_context

from . import processes

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
    """Write the OCDS release package of every published process."""
    from .opendata import release_package
    # Links in the package are absolute: build them against the public address.
    with public_request_context():
        json.dump(release_package(), output, ensure_ascii=False, indent=2)
    output.write("\n")


COMMANDS = [procurement_cli]
