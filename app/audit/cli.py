import sys

import click
from flask.cli import AppGroup

from .operations import verify as verify_chain

audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
def verify():
    """Check every entry against its hash and its link to the previous one."""
    result = verify_chain()
    if result.ok:
        click.echo(f"Audit trail intact: {result.checked} entries verified.")
        return
    click.echo(f"Audit trail ALTERED at entry {result.broken_at}: {result.reason} "
               f"({result.checked} entries before it are intact).", err=True)
    sys.exit(1)
