import sys

import click
from flask.cli import AppGroup

from ..books.operations import verify_log
from ..progress import progress_bar
from .operations import entry_count
from .operations import verify as verify_chain
from .witnesses import (
    AuditTrailBroken,
    WitnessError,
    configured_witnesses,
    parse_head,
    publish_head,
    published_heads,
)

audit_cli = AppGroup("audit", help="The audit trail.")


def _heads(given):
    try:
        heads = [parse_head(text) for text in given]
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--head") from None
    try:
        return published_heads(configured_witnesses()) + heads
    except WitnessError as error:
        raise click.ClickException(f"Cannot read the published heads: {error}") from None


def _report(result) -> None:
    if result.truncated:
        click.echo(f"Audit trail TRUNCATED: {result.reason} ({result.checked} entries are intact).", err=True)
    else:
        click.echo(f"Audit trail ALTERED at entry {result.broken_at}: {result.reason} "
                   f"({result.checked} entries before it are intact).", err=True)


@audit_cli.command("verify")
@click.option("--head", "given", multiple=True, metavar="COUNT:HASH",
              help="A head published earlier (the witness email gives it); repeatable.")
def verify(given):
    """Check every entry against its keyed hash and its link to the previous one, and the chain
    against every head published outside the database (a head counting more entries than there
    are means the newest were removed)."""
    heads = _heads(given)
    with progress_bar(entry_count, "Verifying the audit trail") as advance:
        result = verify_chain(heads, progress=advance)
    if not result.ok:
        _report(result)
        sys.exit(1)
    books = verify_log("audit")
    if not books.ok:
        click.echo(f"Audit trail ALTERED since the last signed checkpoint: {books.problem}.", err=True)
        sys.exit(1)
    click.echo(f"Audit trail intact: {result.checked} entries verified.")
    if books.checkpoint is not None:
        click.echo(f"The {books.checked} entries of checkpoint {books.checkpoint.id} "
                   f"({books.checkpoint.at.isoformat()}) match the signed tree head.")
    if heads:
        latest = max(heads, key=lambda h: h.count)
        click.echo(f"Checked against {len(heads)} published heads; the latest counted {latest.count} entries.")
    else:
        click.echo("No published head to check against: configure a witness and run `audit publish-head` "
                   "daily, or removing the newest entries would go unnoticed.")


@audit_cli.command("publish-head")
def publish():
    """Verify the chain, then publish its head (count and hash) to every configured witness
    (PROCOMUN_AUDIT_WITNESS_DIR, PROCOMUN_AUDIT_WITNESS_EMAIL). Run it daily (cron or the
    systemd timer in deploy/)."""
    witnesses = configured_witnesses()
    if not witnesses:
        raise click.ClickException("No witness configured: set PROCOMUN_AUDIT_WITNESS_DIR "
                                   "and/or PROCOMUN_AUDIT_WITNESS_EMAIL.")
    try:
        head, refused = publish_head(witnesses)
    except WitnessError as error:
        raise click.ClickException(f"Cannot read the published heads: {error}") from None
    except AuditTrailBroken as broken:
        _report(broken.args[0])
        click.echo("Nothing was published.", err=True)
        sys.exit(1)
    for problem in refused:
        click.echo(f"Not published to {problem}", err=True)
    took = [w.name for w in witnesses if not any(p.startswith(w.name) for p in refused)]
    if took:
        click.echo(f"Published the head ({head.count} entries, last entry {head.last_id}, hash {head.hash}) "
                   f"to {', '.join(took)}.")
    if refused:
        sys.exit(1)
