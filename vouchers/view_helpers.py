"""What the vouchers pages share: a history page's place, the reader's locale, and the
organisation a desk acts for."""
from flask import abort, request
from flask_login import current_user

from app.errors import DomainError
from app.i18n import locale_name
from app.organisations import operations as organisations


def cursor() -> dict:
    """A history page's place: the cursor of its Older or Newer link (app/paging.py keyset_page)."""
    return {"before": request.args.get("before"), "after": request.args.get("after")}


def locale() -> str:
    return locale_name()


def desk_organisation(form):
    """The organisation the form names, or the page's `?organisation=` (a desk's history links and
    its redirects carry it), or the member's first: one not theirs is refused (NotAllowed)."""
    mine = current_user.organisations
    form.organisation.choices = [(o.slug, o.name) for o in mine]
    slug = form.organisation.data or request.args.get("organisation") or (mine[0].slug if mine else None)
    return organisations.organisation_for_member(current_user, slug)


def desk_organisation_or_403(form):
    """The desk's organisation, or a 403 page for someone who acts for none."""
    try:
        return desk_organisation(form)
    except DomainError as error:
        abort(403, str(error))
