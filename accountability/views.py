"""The chain page of a need, results recorded by officials, the overdue steps, the statistics
and the CSV import with its preview."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role
from app.accounts.operations import is_official
from app.errors import DomainError
from app.forms import attach_error, validated
from app.i18n import city_today
from app.pagecache import cached_public_page
from app.security import public, roles_required

from . import bp, chain, deadlines, exchange, operations
from .forms import EntryForm, ImportForm, LinkForm, ProgressForm
from .models import ResultKind
from .results import all_results, status_label, statuses

officials = roles_required(Role.OFFICIAL, Role.ADMIN)
IMPORT_LIMIT = 20 * 1024 * 1024


def _forms(kind, view):
    progress = ProgressForm(status=view.status, progress=view.progress, justification=view.justification)
    progress.status.choices = [(s, status_label(s)) for s in statuses(kind)]
    return progress, EntryForm(on=city_today()), LinkForm()


@bp.route("/accountability/")
@public
@cached_public_page()
def index():
    needs = all_results([ResultKind.NEED.value])
    return render_template("accountability/index.html", needs=needs, is_official=is_official(current_user))


@bp.route("/councils/needs/<int:need_id>")
@public
@cached_public_page()
def need(need_id):
    found = chain.chain(need_id)
    forms = _forms(ResultKind.NEED.value, found.result) if is_official(current_user) else (None, None, None)
    return render_template("accountability/need.html", chain=found, today=city_today(),
                           progress_form=forms[0], entry_form=forms[1], link_form=forms[2])


@bp.route("/accountability/commitments/<int:commitment_id>")
@public
@cached_public_page()
def commitment(commitment_id):
    found = [r for r in all_results([ResultKind.COMMITMENT.value]) if r.subject_id == commitment_id]
    if not found:
        abort(404)
    return render_template("accountability/commitment.html", result=found[0])


def _back(kind, subject_id):
    if kind == ResultKind.NEED.value:
        return redirect(url_for("accountability.need", need_id=subject_id))
    if kind == ResultKind.PACT_OBJECTIVE.value:
        return redirect(url_for("pacts.show", pact_id=subject_id))
    return redirect(url_for("accountability.commitment", commitment_id=subject_id))


@bp.route("/accountability/results/<any(need,pact_objective,commitment):kind>/<int:subject_id>/progress",
          methods=["POST"])
@officials
def set_progress(kind, subject_id):
    form = ProgressForm()
    form.status.choices = [(s, status_label(s)) for s in statuses(kind)]
    try:
        validated(form)
        operations.set_progress(kind, subject_id, status=form.status.data, progress=form.progress.data,
                                justification=form.justification.data, actor=current_user)
        flash(_("The progress is recorded."), "success")
    except DomainError as error:
        flash(str(error.message), "error")
    return _back(kind, subject_id)


@bp.route("/accountability/results/<any(need,pact_objective,commitment):kind>/<int:subject_id>/entries",
          methods=["POST"])
@officials
def record_entry(kind, subject_id):
    form = EntryForm()
    try:
        validated(form)
        operations.record_entry(kind, subject_id, on=form.on.data, text=form.text.data,
                                evidence_url=form.evidence_url.data or "", actor=current_user)
        flash(_("The entry is added to the timeline."), "success")
    except DomainError as error:
        flash(str(error.message), "error")
    return _back(kind, subject_id)


@bp.route("/councils/needs/<int:need_id>/links", methods=["POST"])
@officials
def link(need_id):
    form = LinkForm()
    try:
        validated(form)
        operations.link_need(need_id, form.kind.data, form.target.data.strip(), actor=current_user)
        flash(_("The link is recorded."), "success")
    except DomainError as error:
        flash(str(error.message), "error")
    return redirect(url_for("accountability.need", need_id=need_id))


@bp.route("/accountability/overdue")
@public
@cached_public_page()
def overdue():
    return render_template("accountability/overdue.html", steps=deadlines.overdue(), today=city_today())


@bp.route("/accountability/statistics")
@public
@cached_public_page()
def statistics():
    return render_template("accountability/statistics.html", rows=deadlines.statistics())


@bp.route("/accountability/import", methods=["GET", "POST"])
@officials
def import_results():
    """Upload → preview of every row (nothing written) → confirm (the same file, one transaction)."""
    form = ImportForm()
    plan = None
    if request.method == "POST":
        try:
            validated(form)
            upload = form.file.data
            text = upload.read(IMPORT_LIMIT + 1).decode("utf-8-sig") if upload else (form.content.data or "")
            if not text.strip() or len(text) > IMPORT_LIMIT:
                raise DomainError(_("Choose a CSV file as the export writes it (at most 20 MB)."), field="file")
            if request.form.get("confirm") and not upload:
                plan = exchange.import_csv(text, actor=current_user)
                if not plan.refused:
                    flash(_("Imported: %(summary)s.", summary=plan.summary()), "success")
                    return redirect(url_for("accountability.import_results"))
            else:
                plan = exchange.plan_import(text)
            form.content.data = text
        except UnicodeDecodeError:
            attach_error(form, DomainError(_("The file is not UTF-8 text."), field="file"))
        except DomainError as error:
            attach_error(form, error)
    return render_template("accountability/import.html", form=form, plan=plan)
