"""The public register of organisations, and the officials' accreditation desk."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.models import Role
from ..documents import pdf_response
from ..errors import DomainError
from ..forms import attach_error, shown_beside_its_field
from ..i18n import city_today
from ..security import public, roles_required
from . import bp
from . import operations as ops
from .documents import certificate_pdf, certificate_reference
from .forms import AccreditForm, DepartmentHeadForm, LocalisedNamesForm, OrganisationForm, ReasonForm
from .models import AccreditationCriterion, OrganisationKind, ServiceCategory

officials = roles_required(Role.OFFICIAL, Role.ADMIN)


@bp.route("/")
@public
def index():
    args = request.args
    page = ops.search_organisations(kind=args.get("kind", ""), category=args.get("category", ""),
                                    query=args.get("q", "").strip(), page=args.get("page", 1, type=int))
    return render_template("organisations/index.html", page=page, kinds=list(OrganisationKind),
                           categories=ops.categories(), today=city_today())


@bp.route("/accredited")
@public
def accredited():
    category = request.args.get("category", "")
    return render_template("organisations/accredited.html", category=category,
                           rows=ops.accreditations_in_force(category_slug=category or None),
                           categories=ops.categories(), today=city_today())


@bp.route("/new", methods=["GET", "POST"])
@officials
def create():
    form = OrganisationForm()
    if form.validate_on_submit():
        fields = {f.name: f.data for f in form if f.name not in ("csrf_token", "slug", "name", "kind")}
        try:
            org = ops.create_organisation(form.slug.data, form.name.data, form.kind.data,
                                          actor=current_user, **fields)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("%(name)s is registered.", name=org.name), "success")
            return redirect(url_for(".show", slug=org.slug))
    return render_template("organisations/form.html", form=form, org=None)


@bp.route("/<slug>")
@public
def show(slug):
    return _show_page(ops.organisation_by_slug(slug))


def _show_page(org, reason_form=None, reason_for=None):
    """The organisation's page; `reason_form` is a refused reason, shown in the form of the
    accreditation and action `reason_for` = (accreditation id, action) that sent it."""
    return render_template("organisations/show.html", org=org, today=city_today(),
                           reason_form=reason_form or ReasonForm(), reason_for=reason_for)


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@officials
def edit(slug):
    org = ops.organisation_by_slug(slug)
    form = OrganisationForm(obj=org)
    del form.slug
    if form.validate_on_submit():
        ops.update_organisation(org, actor=current_user,
                                **{f.name: f.data for f in form if f.name != "csrf_token"})
        flash(_("%(name)s is saved.", name=org.name), "success")
        return redirect(url_for(".show", slug=org.slug))
    return render_template("organisations/form.html", form=form, org=org)


@bp.route("/<slug>/head", methods=["GET", "POST"])
@officials
def department_head(slug):
    """Name who heads a municipal department (overdue steps are escalated to them)."""
    org = ops.organisation_by_slug(slug)
    form = DepartmentHeadForm(data=None if request.method == "POST" else {"email": org.head.email if org.head else ""})
    if form.validate_on_submit():
        try:
            ops.set_department_head(org, form.email.data or "", actor=current_user)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("The head of %(name)s is saved.", name=org.name), "success")
            return redirect(url_for(".show", slug=org.slug))
    return render_template("organisations/head.html", form=form, org=org), 422 if form.errors else 200


@bp.route("/<slug>/accredit", methods=["GET", "POST"])
@officials
def accredit(slug):
    org = ops.organisation_by_slug(slug)
    form = AccreditForm()
    form.category.choices = [(c.slug, c.name) for c in ops.categories()]
    form.checklist.choices = [(c.slug, c.text) for c in ops.criteria()]
    if request.method == "GET":
        form.valid_from.data = city_today()
    if form.validate_on_submit():
        try:
            ops.accredit(org, ops.category_by_slug(form.category.data), form.valid_until.data,
                         valid_from=form.valid_from.data, actor=current_user,
                         checklist={slug: True for slug in form.checklist.data},
                         wage_ratio=form.wage_ratio.data)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("%(name)s is accredited.", name=org.name), "success")
            return redirect(url_for(".show", slug=org.slug))
    return render_template("organisations/accredit.html", form=form, org=org)


@bp.route("/accreditations/<int:acc_id>/certificate.pdf")
@public
def certificate(acc_id):
    acc = ops.accreditation(acc_id)
    pdf = certificate_pdf(acc, str(get_locale()))
    return pdf_response(pdf, f"{certificate_reference(acc)}.pdf")


@bp.route("/accreditations/<int:acc_id>/<any(suspend, reinstate, revoke):action>", methods=["POST"])
@officials
def change_accreditation(acc_id, action):
    acc = ops.accreditation(acc_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            getattr(ops, action)(acc, form.reason.data, actor=current_user)
        except DomainError as error:
            if not shown_beside_its_field(form, error):  # the accreditation moved on meanwhile
                flash(str(error), "error")
                return redirect(url_for(".show", slug=acc.organisation.slug))
        else:
            flash(_("The accreditation is updated."), "success")
            return redirect(url_for(".show", slug=acc.organisation.slug))
    return _show_page(acc.organisation, reason_form=form, reason_for=(acc.id, action)), 422


def _names_view(kind, row, template, save, texts_attr):
    form = LocalisedNamesForm(obj=row)
    if row is not None and request.method == "GET":
        for code, value in (getattr(row, texts_attr) or {}).items():
            if hasattr(form, f"name_{code}"):
                getattr(form, f"name_{code}").data = value
    if form.validate_on_submit():
        try:
            save(form.slug.data, form.names(), actor=current_user, active=form.active.data,
                 **({kind: row} if row is not None else {}))
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(f".{kind}_list"))
    return render_template(template, form=form, row=row, kind=kind)


@bp.route("/categories")
@officials
def category_list():
    return render_template("organisations/names_list.html", kind="category",
                           rows=ops.categories(active_only=False))


@bp.route("/categories/new", methods=["GET", "POST"])
@bp.route("/categories/<int:row_id>", methods=["GET", "POST"])
@officials
def category_edit(row_id=None):
    row = ops.db.get_or_404(ServiceCategory, row_id) if row_id else None
    return _names_view("category", row, "organisations/names_form.html", ops.save_category, "names")


@bp.route("/criteria")
@officials
def criterion_list():
    return render_template("organisations/names_list.html", kind="criterion",
                           rows=ops.criteria(active_only=False))


@bp.route("/criteria/new", methods=["GET", "POST"])
@bp.route("/criteria/<int:row_id>", methods=["GET", "POST"])
@officials
def criterion_edit(row_id=None):
    row = ops.db.get_or_404(AccreditationCriterion, row_id) if row_id else None
    return _names_view("criterion", row, "organisations/names_form.html", ops.save_criterion, "texts")
