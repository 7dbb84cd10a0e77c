"""`flask user …` and `flask token …`: the contract scripts and tests use."""
import click
from flask.cli import AppGroup

from ..errors import DomainError
from ..organisations.operations import organisation_by_slug
from ..urls import external_url
from . import operations as ops
from . import resets
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
    click.echo(external_url("accounts.reset", token=resets.issue_reset(user)))


@user_cli.command("roles")
@click.argument("email")
@click.option("--add", "added", multiple=True, type=ROLE_CHOICE, help="A role to give (repeatable).")
@click.option("--remove", "removed", multiple=True, type=ROLE_CHOICE, help="A role to take away (repeatable).")
@click.option("--activate/--deactivate", "active", default=None,
              help="Open a deactivated account, or close one. Unchanged if not given.")
def roles(email, added, removed, active):
    """Show or change an account's roles, and open or close it.

    The way back when no administrator can sign in:
    `flask user roles EMAIL --add admin --activate`. Every change is recorded
    in the audit trail like the web admin's; the last active administrator
    cannot lose the role or be deactivated."""
    user = ops.find_user(email)
    if user is None:
        raise click.ClickException(f"No account for {email}")
    if added or removed or active is not None:
        wanted = (user.roles | {Role(r) for r in added}) - {Role(r) for r in removed}
        try:
            ops.update_account(user, wanted, user.organisations,
                               user.active if active is None else active, actor=None)
        except DomainError as error:
            _fail(error)
    state = "active" if user.active else "deactivated"
    click.echo(f"{user.email} ({state}) has roles: {', '.join(sorted(user.roles)) or 'none'}")


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
