"""The root of the command line: `flask --app app …`."""
import importlib
import importlib.util

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


@click.command("bench-data")
@click.option("--scale", type=click.IntRange(min=1), required=True, help="About how many pacts to end with.")
@with_appcontext
def bench_data_command(scale):
    """Fill the database for the benchmarks: the demo city multiplied to about SCALE
    pacts, with proportional reports, councils and votes, procurement and 10×SCALE
    ledger transfers. Only for a benchmark database: it adds rows in bulk."""
    from . import benchdata
    demo_command.callback()
    benchdata.generate(scale, echo=click.echo)


def init_app(app):
    from .accounts.cli import token_cli, user_cli
    from .audit.cli import audit_cli
    from .organisations.cli import org_cli
    for command in (demo_command, seed_command, bench_data_command, user_cli, token_cli, org_cli, audit_cli):
        app.cli.add_command(command)


def optional_submodule(package: str, name: str):
    """`package.name` if that file exists, else None: how the factory finds a
    module's views, api, cli, demo and open data without hard-wiring them."""
    if importlib.util.find_spec(f"{package}.{name}") is None:
        return None
    return importlib.import_module(f"{package}.{name}")
