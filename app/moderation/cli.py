"""`flask moderation …`: the daily purge of redacted originals (a cron line in the README)."""
import click
from flask.cli import AppGroup

from .retention import purge_originals

moderation_cli = AppGroup("moderation", help="Moderation housekeeping.")


@moderation_cli.command("purge")
def purge():
    """Delete the originals of redacted texts whose legal retention period has ended."""
    deleted = purge_originals()
    click.echo(f"Purged {deleted} redacted original{'s' if deleted != 1 else ''} past their retention period.")
