"""`flask --app app books …`: the operator's side of the verifiable books."""
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from ..errors import DomainError
from . import notes
from . import operations as books

books_cli = AppGroup("books", help="The books' transparency logs: checkpoints, keys and witnesses.")
witness_cli = AppGroup("witness", help="Witnesses who countersign the checkpoints.")
books_cli.add_command(witness_cli)


@books_cli.command("checkpoint")
def checkpoint():
    """Append every transfer and audit entry written since the last checkpoint to its log and sign
    both tree heads (run daily by the timer in deploy/, and after each settlement)."""
    try:
        made = books.checkpoint()
    except notes.NoteError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Checkpoint {made.id}: ledger {made.ledger_size} transfers, audit trail {made.audit_size} entries.")
    click.echo(books.published_note(made), nl=False)


@books_cli.command("key")
def key():
    """Print the city's public key: the verifier key (for tools/verify_books.py --key) and the raw
    key in base64. Publish both out of band too (the official journal)."""
    try:
        public = notes.city_public_key()
    except notes.NoteError as error:
        raise click.ClickException(str(error)) from None
    click.echo(notes.verifier_key(notes.origin(), public))
    click.echo(books.b64(public))


@books_cli.command("verify")
def verify():
    """Check both logs' rows against the last checkpoint (as `audit verify` and `ledger verify` do)."""
    failed = False
    for log in books.LOG_ORDER:
        result = books.verify_log(log)
        if result.ok:
            click.echo(f"{log}: {result.checked} entries match checkpoint "
                       f"{result.checkpoint.id if result.checkpoint else '(none yet)'}.")
        else:
            failed = True
            click.echo(f"{log}: ALTERED: {result.problem}", err=True)
    if failed:
        sys.exit(1)


@witness_cli.command("add")
@click.argument("verifier_key")
@click.option("--description", default="", help="Who holds the key (for the witness page).")
def witness_add(verifier_key, description):
    """Register a witness by its verifier key (NAME+HASH+BASE64, as `books witness keygen` prints)."""
    try:
        witness = books.register_witness(verifier_key, description)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    click.echo(f"Witness {witness.name} registered.")


@witness_cli.command("keygen")
@click.argument("name")
@click.argument("key_file", type=click.Path(dir_okay=False, path_type=Path))
def witness_keygen(name, key_file):
    """Make a witness's Ed25519 key in KEY_FILE (on the witness's own machine) and print its
    verifier key, for the city to register with `books witness add`."""
    if key_file.exists():
        raise click.ClickException(f"{key_file} exists already.")
    notes.generate_key(key_file)
    click.echo(notes.verifier_key(name, notes.public_bytes(notes.load_private_key(key_file).public_key())))


@witness_cli.command("sign")
@click.argument("checkpoint_id", type=int)
@click.option("--name", required=True, help="The witness's name, as registered.")
@click.option("--key-file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def witness_sign(checkpoint_id, name, key_file):
    """Countersign a checkpoint with a witness's key, after checking the city's signature and its
    consistency with the checkpoint before it; the signature is added to the published note."""
    try:
        line = books.witness_signature(checkpoint_id, name, notes.load_private_key(key_file))
        books.cosign(checkpoint_id, line)
    except (DomainError, notes.NoteError) as error:
        raise click.ClickException(str(getattr(error, "message", error))) from None
    click.echo(line, nl=False)


@witness_cli.command("cosign")
@click.argument("checkpoint_id", type=int)
@click.argument("line")
def witness_cosign(checkpoint_id, line):
    """Add a signature line a witness made elsewhere (checked against the registered keys)."""
    try:
        books.cosign(checkpoint_id, line)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    click.echo("Countersignature added.")
