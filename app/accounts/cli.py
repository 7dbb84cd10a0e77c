"""`flask user …` and `flask token …`: the contract scripts and tests use."""
import click
from flask.cli import AppGroup

from ..errors import DomainError
from ..organisations.operations import organisation_by_slug
from ..urls import external_url
from . import operations as ops
from .models import Role

user_cli = AppGroup("user", help="Manage accounts.")
token_cli = AppGroup("token", help="Manage API tokens.")

ROLE_CHOICE = click.Choice([r.value for r in Role])


def _fail(error: DomainError):
    raise click.ClickException(str(error))


@user_cli.command("create")
@click.argument("email")
@click.option("--password", required=True, help="At least 10 characters.")
@click.option("--role", "roles", multiple=True, type=ROLE_CHOICE, default=["citizen"], show_default=True)
@click.option("--org", "orgs", multiple=True, help="Slug of an organisation the account belongs to.")
@click.option("--name", default=None)
def create_user(email, password, roles, orgs, name):
    """Create an account with one or more roles."""
    try:
        organisations = [organisation_by_slug(slug) for slug in orgs]
        user = ops.create_user(email, password, name=name, roles=roles, organisations=organisations)
    except DomainError as error:
        _fail(error)
    click.echo(f"Created {user.email} with roles: {', '.join(sorted(user.roles))}")


@user_cli.command("reset-link")
@click.argument("email")
def reset_link(email):
    """Print a one-time password-reset link (valid 24 hours)."""
    user = ops.find_user(email)
    if user is None:
        raise click.ClickException(f"No account for {email}")
    click.echo(external_url("accounts.reset", token=ops.reset_token(user)))


@token_cli.command("create")
@click.argument("email")
@click.option("--name", default="CLI", show_default=True)
def create_token(email, name):
    """Create an API token; the token is the last line printed."""
    user = ops.find_user(email)
    if user is None:
        raise click.ClickException(f"No account for {email}")
    token, _row = ops.issue_token(user, name)
    click.echo(f"Token for {user.email} (shown once, keep it safe):")
    click.echo(token)
