"""The organisations register and accreditation: rules as plain functions."""
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import current_app, g
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..accounts.operations import is_official, user_by_email
from ..audit.operations import record, snapshot
from ..database import transaction
from ..errors import Invalid, NotAllowed, NotFound
from ..extensions import db
from ..i18n import city_today, locale_name
from ..states import StateMachine
from .models import (
    Accreditation,
    AccreditationCriterion,
    AccreditationEvent,
    AccreditationStatus,
    Organisation,
    OrganisationKind,
    ServiceCategory,
)

SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
ORG_FIELDS = ("name", "kind", "description", "neighbourhood", "address", "email", "website")

ACCREDITATION = StateMachine({
    AccreditationStatus.ACTIVE: {AccreditationStatus.SUSPENDED, AccreditationStatus.REVOKED},
    AccreditationStatus.SUSPENDED: {AccreditationStatus.ACTIVE, AccreditationStatus.REVOKED},
    AccreditationStatus.REVOKED: set(),
}, labels={s: s.label for s in AccreditationStatus})


def _check_slug(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not SLUG.match(slug) or len(slug) > 80:
        raise Invalid(_l("Use lower-case letters, digits and dashes only, like “green-coop”."),
                      field="slug")
    return slug


def _check_kind(kind: str) -> str:
    try:
        return OrganisationKind(kind).value
    except ValueError:
        raise Invalid(_l("Unknown kind of organisation “%(kind)s”.", kind=kind), field="kind") from None


# Organisations --------------------------------------------------------------------------

def organisation_by_slug(slug: str) -> Organisation:
    org = db.session.execute(select(Organisation).where(Organisation.slug == slug)).scalar_one_or_none()
    if org is None:
        raise NotFound(_l("No organisation “%(slug)s”.", slug=slug))
    return org


def organisation_for_member(user, slug: str | None = None) -> Organisation:
    """The organisation a member acts for: the one named among theirs, or their only one."""
    mine = user.organisations
    if slug:
        for org in mine:
            if org.slug == slug:
                return org
        raise NotAllowed(_l("You may act only for your own organisation."), field="organisation", code="not_member")
    if not mine:
        raise NotAllowed(_l("This account belongs to no organisation."), field="organisation", code="not_member")
    if len(mine) > 1:
        raise Invalid(_l("You belong to several organisations: say which one."), field="organisation",
                      code="organisation_required")
    return mine[0]


def all_organisations() -> list[Organisation]:
    return db.session.execute(select(Organisation).order_by(Organisation.name)).scalars().all()


def create_organisation(slug: str, name: str, kind: str, *, actor=None, **fields) -> Organisation:
    """Register an organisation; the slug is its permanent public name."""
    slug = _check_slug(slug)
    kind = _check_kind(kind)
    if not (name or "").strip():
        raise Invalid(_l("Give the organisation a name."), field="name")
    with transaction():
        if db.session.execute(select(Organisation.id).where(Organisation.slug == slug)).first():
            raise Invalid(_l("The name “%(slug)s” is taken.", slug=slug), field="slug")
        org = Organisation(slug=slug, name=name.strip(), kind=kind,
                           **{k: (v or "").strip() for k, v in fields.items() if k in ORG_FIELDS})
        db.session.add(org)
        record("organisation.created", org, actor=actor, after=snapshot(org, ["slug", *ORG_FIELDS]))
    return org


def update_organisation(org: Organisation, *, actor, **fields) -> None:
    if "kind" in fields:
        fields["kind"] = _check_kind(fields["kind"])
    with transaction():
        before = snapshot(org, list(ORG_FIELDS))
        for key in ORG_FIELDS:
            if key in fields:
                setattr(org, key, (fields[key] or "").strip())
        record("organisation.updated", org, actor=actor, before=before, after=snapshot(org, list(ORG_FIELDS)))


def set_department_head(department: Organisation, email: str, *, actor) -> Organisation:
    """Name the official who heads a municipal department (overdue steps of the department are
    escalated to them), or nobody when `email` is empty. Officials and administrators only; audited."""
    if not is_official(actor):
        raise NotAllowed(_l("Only the city's officials name a department's head."))
    if department.kind != OrganisationKind.MUNICIPAL_DEPARTMENT.value:
        raise Invalid(_l("Only a municipal department has a head."), field="email")
    head = user_by_email(email.strip()) if (email or "").strip() else None
    if head is not None and not is_official(head):
        raise Invalid(_l("The head of a department must be a city official: %(email)s is not.", email=head.email),
                      field="email")
    with transaction():
        before = snapshot(department, ["head_id"])
        department.head_id = head.id if head else None
        record("organisation.head_set", department, actor=actor, before=before, after=snapshot(department, ["head_id"]))
    return department


def search_organisations(*, kind: str = "", category: str = "", query: str = "", page: int = 1,
                         per_page: int = 25):
    """The public register, filtered; accreditations come eagerly loaded."""
    stmt = select(Organisation).options(
        selectinload(Organisation.accreditations)).order_by(Organisation.name)
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(or_(func.lower(Organisation.name).like(like),
                              func.lower(Organisation.neighbourhood).like(like)))
    if category:
        today = city_today()
        stmt = stmt.where(Organisation.id.in_(
            select(Accreditation.organisation_id).join(ServiceCategory)
            .where(ServiceCategory.slug == category, *_in_force(today))))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


# Service categories and the checklist ---------------------------------------------------

def categories(active_only: bool = True) -> list[ServiceCategory]:
    stmt = select(ServiceCategory).order_by(ServiceCategory.position, ServiceCategory.slug)
    if active_only:
        stmt = stmt.where(ServiceCategory.active.is_(True))
    return db.session.execute(stmt).scalars().all()


def _request_categories() -> list[ServiceCategory]:
    """Every category, read once per request: a desk page names them in its form and on each line."""
    if "_categories" not in g:
        g._categories = categories(active_only=False)
    return g._categories


def category_choices() -> list[tuple[str, str]]:
    """(slug, name) of each category in use, in the current language, for a form's select."""
    return [(c.slug, c.name) for c in _request_categories() if c.active]


def category_name(slug: str) -> str:
    """A category's name in the current language, from its slug (the list is
    small: read once per request). Unknown slugs are shown as they are."""
    cache = g.setdefault("_category_names", {})
    locale = locale_name()
    if locale not in cache:
        cache[locale] = {c.slug: c.name for c in _request_categories()}
    return cache[locale].get(slug, slug)


def category_by_slug(slug: str) -> ServiceCategory:
    row = db.session.execute(select(ServiceCategory).where(ServiceCategory.slug == slug)).scalar_one_or_none()
    if row is None:
        raise NotFound(_l("No service category “%(slug)s”.", slug=slug), field="category")
    return row


def _save_named(model, action: str, texts_attr: str, slug: str, texts: dict, *, actor, active: bool, row,
                missing_english: str, english_field: str):
    """Create or update a row of an editable, per-language list (categories, criteria)."""
    texts = {k: (v or "").strip() for k, v in texts.items() if (v or "").strip()}
    if not texts.get("en"):
        raise Invalid(missing_english, field=english_field)
    with transaction():
        if row is None:
            slug = _check_slug(slug)
            if db.session.execute(select(model.id).where(model.slug == slug)).first():
                raise Invalid(_l("The name “%(slug)s” is taken.", slug=slug), field="slug")
            position = db.session.execute(select(func.count(model.id))).scalar_one()
            row = model(slug=slug, active=active, position=position, **{texts_attr: texts})
            db.session.add(row)
            before = None
        else:
            before = snapshot(row, [texts_attr, "active"])
            setattr(row, texts_attr, texts)
            row.active = active
        record(action, row, actor=actor, before=before,
               after=snapshot(row, ["slug", texts_attr, "active"]))
    return row


def save_category(slug: str, names: dict, *, actor=None, active: bool = True,
                  category: ServiceCategory | None = None) -> ServiceCategory:
    """Create a category, or rename one; the English name is required."""
    return _save_named(ServiceCategory, "service_category.saved", "names", slug, names,
                       actor=actor, active=active, row=category, english_field="name_en",
                       missing_english=_l("Give the category its English name."))


def criteria(active_only: bool = True) -> list[AccreditationCriterion]:
    stmt = select(AccreditationCriterion).order_by(AccreditationCriterion.position, AccreditationCriterion.id)
    if active_only:
        stmt = stmt.where(AccreditationCriterion.active.is_(True))
    return db.session.execute(stmt).scalars().all()


def save_criterion(slug: str, texts: dict, *, actor=None, active: bool = True,
                   criterion: AccreditationCriterion | None = None) -> AccreditationCriterion:
    """Create or reword a checklist criterion; the English text is required."""
    return _save_named(AccreditationCriterion, "accreditation_criterion.saved", "texts", slug, texts,
                       actor=actor, active=active, row=criterion, english_field="name_en",
                       missing_english=_l("Write the criterion in English at least."))


# Accreditation --------------------------------------------------------------------------

def _in_force(on: date):
    return (Accreditation.status == AccreditationStatus.ACTIVE.value,
            Accreditation.valid_from <= on, Accreditation.valid_until >= on)


def _parse_ratio(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        ratio = Decimal(str(value))
    except InvalidOperation:
        raise Invalid(_l("Write the wage ratio as a number, like 4.5."), field="wage_ratio") from None
    if ratio < 1:
        raise Invalid(_l("The wage ratio is highest pay over lowest pay, so at least 1."), field="wage_ratio")
    return ratio


def _accreditation_state(acc: Accreditation) -> dict:
    return {"organisation": acc.organisation.slug, "category": acc.category.slug, "status": acc.status,
            "valid_from": acc.valid_from, "valid_until": acc.valid_until,
            "checklist": acc.checklist, "wage_ratio": acc.wage_ratio}


def accredit(org: Organisation, category: ServiceCategory, valid_until: date, *, actor=None,
             checklist: dict | None = None, wage_ratio=None, valid_from: date | None = None,
             met_all: bool = False) -> Accreditation:
    """Accredit (or renew the accreditation of) `org` for `category` until `valid_until`.

    Every active criterion of the city's checklist must be met, and the declared
    wage ratio may not exceed PROCOMUN_MAX_WAGE_RATIO. Renewing keeps one row per
    organisation and category and adds an event to its history."""
    valid_from = valid_from or city_today()
    if valid_until < valid_from:
        raise Invalid(_l("The end of validity must come after its start."), field="valid_until")
    active = criteria()
    checklist = {c.slug: True for c in active} if met_all else {k: bool(v) for k, v in (checklist or {}).items()}
    missing = [c.text for c in active if not checklist.get(c.slug)]
    if missing:
        raise Invalid(_l("The organisation does not meet: %(criteria)s.", criteria="; ".join(missing)),
                      field="checklist")
    ratio = _parse_ratio(wage_ratio)
    limit = current_app.config["PROCOMUN_MAX_WAGE_RATIO"]
    if ratio is not None and ratio > limit:
        raise Invalid(_l("A wage ratio of 1:%(ratio)s is above the city's maximum of 1:%(limit)s.",
                         ratio=ratio, limit=limit), field="wage_ratio")
    with transaction():
        acc = db.session.execute(
            select(Accreditation).where(Accreditation.organisation_id == org.id,
                                        Accreditation.category_id == category.id)
        ).scalar_one_or_none()
        if acc is None:
            acc = Accreditation(organisation=org, category=category)
            db.session.add(acc)
            action, before = "granted", None
        else:
            action, before = "renewed", _accreditation_state(acc)
        acc.status = AccreditationStatus.ACTIVE.value
        acc.valid_from, acc.valid_until = valid_from, valid_until
        acc.checklist, acc.wage_ratio = checklist, ratio
        acc.events.append(AccreditationEvent(action=action, valid_until=valid_until,
                                             actor_id=getattr(actor, "id", None)))
        record(f"accreditation.{action}", acc, actor=actor, before=before, after=_accreditation_state(acc))
    return acc


def _move(acc: Accreditation, target: AccreditationStatus, action: str, reason: str, actor) -> None:
    if not (reason or "").strip():
        raise Invalid(_l("Give the reason; the organisation and the public will read it."), field="reason")
    ACCREDITATION.check(acc.status_enum, target)
    with transaction():
        before = _accreditation_state(acc)
        acc.status = target.value
        acc.events.append(AccreditationEvent(action=action, reason=reason.strip(),
                                             valid_until=acc.valid_until, actor_id=getattr(actor, "id", None)))
        record(f"accreditation.{action}", acc, actor=actor, before=before,
               after={**_accreditation_state(acc), "reason": reason.strip()})
        if target == AccreditationStatus.SUSPENDED:  # the members hear of it (one outbox row)
            from ..notifications.core_events import accreditation_context
            from ..notifications.operations import emit
            emit("accreditation.suspended", "organisation", acc.organisation_id, actor=actor,
                 **accreditation_context(acc, reason=reason.strip()))


def suspend(acc: Accreditation, reason: str, *, actor) -> None:
    """Suspend an accreditation; the organisation cannot act under it until reinstated."""
    _move(acc, AccreditationStatus.SUSPENDED, "suspended", reason, actor)


def reinstate(acc: Accreditation, reason: str, *, actor) -> None:
    _move(acc, AccreditationStatus.ACTIVE, "reinstated", reason, actor)


def revoke(acc: Accreditation, reason: str, *, actor) -> None:
    """Revoke for good; only a new accreditation can grant it again."""
    _move(acc, AccreditationStatus.REVOKED, "revoked", reason, actor)


def accreditation(acc_id: int) -> Accreditation:
    acc = db.session.get(Accreditation, acc_id)
    if acc is None:
        raise NotFound(_l("No such accreditation."))
    return acc


def is_accredited(organisation_id: int, category_slug: str, on: date | None = None) -> bool:
    """Whether the organisation may deliver (and be paid for) that service on that day."""
    on = on or city_today()
    return db.session.execute(
        select(Accreditation.id).join(ServiceCategory)
        .where(Accreditation.organisation_id == organisation_id, ServiceCategory.slug == category_slug,
               *_in_force(on)).limit(1)
    ).first() is not None


def accreditations_in_force(on: date | None = None, category_slug: str | None = None) -> list[Accreditation]:
    """Who is accredited for what today, and until when: the public list."""
    on = on or city_today()
    stmt = (select(Accreditation).join(ServiceCategory).join(Organisation)
            .options(selectinload(Accreditation.organisation))
            .where(*_in_force(on)).order_by(ServiceCategory.position, Organisation.name))
    if category_slug:
        stmt = stmt.where(ServiceCategory.slug == category_slug)
    return db.session.execute(stmt).scalars().all()
