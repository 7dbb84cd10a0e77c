"""`flask org …`: register and accredit organisations from scripts."""
from datetime import date

import click
from flask.cli import AppGroup

from ..errors import DomainError, NotFound
from . import operations as ops
from .models import OrganisationKind

org_cli = AppGroup("org", help="Manage organisations and their accreditation.")


@org_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice([k.value for k in OrganisationKind]))
@click.option("--neighbourhood", default="")
def create(slug, name, kind, neighbourhood):
    """Register an organisation."""
    try:
        org = ops.create_organisation(slug, name, kind, neighbourhood=neighbourhood)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created organisation {org.slug} ({org.kind})")


@org_cli.command("accredit")
@click.argument("slug")
@click.option("--category", required=True, help="Service category slug; created if new.")
@click.option("--until", "until", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--wage-ratio", default=None, help="Declared highest/lowest pay ratio.")
def accredit(slug, category, until, wage_ratio):
    """Accredit an organisation for a service category until a date.

    Running it is the official's confirmation that the organisation meets
    every criterion of the city's checklist."""
    try:
        org = ops.organisation_by_slug(slug)
        try:
            cat = ops.category_by_slug(category)
        except NotFound:
            cat = ops.save_category(category, {"en": category.replace("_", " ").replace("-", " ").capitalize()})
            click.echo(f"Created service category {cat.slug}")
        acc = ops.accredit(org, cat, until.date(), met_all=True, wage_ratio=wage_ratio)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Accredited {org.slug} for {cat.slug} until {acc.valid_until.isoformat()}")


@org_cli.command("list")
def list_orgs():
    """List organisations and what they are accredited for today."""
    today = date.today()
    for org in ops.all_organisations():
        cats = ", ".join(a.category.slug for a in org.accreditations if a.in_force(today))
        click.echo(f"{org.slug}\t{org.kind}\t{org.name}\t{cats}")
