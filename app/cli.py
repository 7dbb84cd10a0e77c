"""The root of the command line: `flask --app app …`."""
import importlib
import importlib.util
import os

import click
from flask import current_app
from flask.cli import with_appcontext

from . import demo as core_demo
from .organisations.defaults import ensure_defaults


@click.command("demo")
@with_appcontext
def demo_command():
    """Load the demo city (safe to run again: it adds only what is missing)."""
    demo = core_demo.load()
    for name in current_app.config["PROCOMUN_MODULES"]:
        module = current_app.extensions["procomun_modules"][name]
        if module.demo is not None:
            module.demo.load(demo)
    click.echo("Demo city loaded. Demo accounts (password: %s):" % core_demo.DEMO_PASSWORD)
    for email, name, roles, _orgs in core_demo.ACCOUNTS:
        click.echo(f"  {email:<32} {', '.join(r.value for r in roles)}")


@click.command("seed")
@with_appcontext
def seed_command():
    """Create the default accreditation checklist and service categories."""
    ensure_defaults()
    click.echo("Default checklist and service categories are in place.")


def output_directory(path: str) -> str:
    """The directory a command is to write `path` in: a clear error before any work if there is none."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise click.ClickException(f"cannot write {path}: no such directory")
    return directory


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(file):
    """Write a consistent snapshot of the whole database to FILE (a zip of one COPY text file a table)."""
    from .backup import backup, table_count
    from .progress import progress_bar
    output_directory(file)
    try:
        with progress_bar(table_count(), "Backing up") as advance:
            counts = backup(file, progress=advance)
    except OSError as error:
        raise click.ClickException(f"cannot write {file}: {error.strerror}") from error
    click.echo(f"Backed up {sum(counts.values())} rows of {len(counts)} tables to {file}.")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def restore_command(file):
    """Load FILE (made by `backup`) into this empty, migrated database."""
    from .backup import BackupError, restore, table_count
    from .progress import progress_bar
    try:
        with progress_bar(table_count(), "Restoring") as advance:
            counts = restore(file, progress=advance)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Restored {sum(counts.values())} rows of {len(counts)} tables from {file}.")


def init_app(app):
    from .accounts.cli import token_cli, user_cli
    from .audit.cli import audit_cli
    from .books.cli import books_cli
    from .moderation.cli import moderation_cli
    from .notifications.cli import COMMANDS as notification_commands
    from .organisations.cli import org_cli
    for command in (demo_command, seed_command, user_cli, token_cli, org_cli, audit_cli, books_cli,
                    *notification_commands, moderation_cli, backup_command, restore_command):
        app.cli.add_command(command)


def optional_submodule(package: str, name: str):
    """`package.name` if that file exists, else None: how the factory finds a
    module's views, api, cli, demo and open data without hard-wiring them."""
    if importlib.util.find_spec(f"{package}.{name}") is None:
        return None
    return importlib.import_module(f"{package}.{name}")
