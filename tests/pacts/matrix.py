"""Who each pacts route is for (read by tests/test_role_matrix.py).

Object-level rules (only the proposer submits, only signatories report, drafts
stay private) are tested in test_access.py."""
import io

from app.accounts.models import Role
from pacts import attachments, commons_register, disputes, lifecycle, proposals, signing, standard_forms
from pacts.models import CLAUSES

from ..matrix import ANY_USER, OFFICIALS, PUBLIC, roles  # noqa: F401

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32

EXPECTED = {
    "pacts.index": PUBLIC,
    "pacts.show": PUBLIC,
    "pacts.versions": PUBLIC,
    "pacts.pdf": PUBLIC,
    "pacts.consultation_record": PUBLIC,
    "pacts.propose": ANY_USER,
    "pacts.submit": ANY_USER,
    "pacts.clauses": ANY_USER,
    "pacts.sign": ANY_USER,
    "pacts.comment": ANY_USER,
    "pacts.support": ANY_USER,
    "pacts.withdraw_support": ANY_USER,
    "pacts.report": ANY_USER,
    "pacts.dispute": ANY_USER,
    "pacts.mine": ANY_USER,
    "pacts.decide": OFFICIALS,
    "pacts.committee": OFFICIALS,
    "pacts.outcome": OFFICIALS,
    "pacts.desk": OFFICIALS,
    "pacts.standard_forms": OFFICIALS,
    "pacts.standard_form": OFFICIALS,
    "pacts.commons_index": PUBLIC,
    "pacts.commons_show": PUBLIC,
    "pacts.commons_edit": OFFICIALS,
    "pacts.commons_upload": OFFICIALS,
    "pacts.attachment": PUBLIC,
    "pacts.pacts_json": PUBLIC,
    "pacts.pacts_csv": PUBLIC,
    "pacts.commons_geojson": PUBLIC,
    "pacts.pact_comments_json": PUBLIC,
    "pacts.pact_deadlines_ics": PUBLIC,
    "pacts_api.pacts": PUBLIC,
    "pacts_api.proposals": PUBLIC,
    "pacts_api.pact": PUBLIC,
    "pacts_api.versions": PUBLIC,
    "pacts_api.reports": PUBLIC,
    "pacts_api.commons": PUBLIC,
    "pacts_api.propose": ANY_USER,
    "pacts_api.submit": ANY_USER,
    "pacts_api.clauses": ANY_USER,
    "pacts_api.file_report": ANY_USER,
    "pacts_api.support": ANY_USER,
    "pacts_api.decide": OFFICIALS,
}


def samples(ctx) -> dict:
    """An active, signed pact with a dispute, a report photo and a commons photo."""
    official = ctx.make_user(Role.OFFICIAL, email="matrix-pacts-official@example.org")
    citizen = ctx.make_user(Role.CITIZEN, email="matrix-pacts-citizen@example.org")
    commons = commons_register.save_commons(actor=official, name="Matrix square", kind="square", latitude=44.5,
                                            longitude=11.3)
    photo = attachments.store_attachment(io.BytesIO(PNG), "image/png", "Matrix photo", actor=official, commons=commons)
    clauses = {key: "Agreed." for key in CLAUSES}
    form = standard_forms.save_standard_form(actor=official, title="Matrix form", intervention="care", clauses=clauses)
    pact = proposals.propose(actor=citizen, title="Matrix pact", intervention="care", track="ordinary",
                             standard_form=form, commons_ids=[commons.id], what="Care")
    lifecycle.submit(pact, actor=citizen)
    lifecycle.open_consultation(pact, actor=official)
    lifecycle.close_consultation(pact, actor=official, today=pact.consultation_ends)
    lifecycle.approve(pact, actor=official)
    signing.sign(pact, "citizens", actor=citizen)
    signing.sign(pact, "city", actor=official)
    lifecycle.activate(pact, actor=official)
    dispute = disputes.raise_dispute(pact, "Matrix dispute", actor=citizen)
    # A second file, approved but unsigned: the API's writes answer it by its state (409)
    # whoever asks, so the matrix sees role rules only; the person rules are in test_access.py.
    waiting = proposals.propose(actor=citizen, title="Matrix approved", intervention="care", track="ordinary",
                                standard_form=form, commons_ids=[commons.id], what="Care")
    lifecycle.submit(waiting, actor=citizen)
    lifecycle.open_consultation(waiting, actor=official)
    lifecycle.close_consultation(waiting, actor=official, today=waiting.consultation_ends)
    lifecycle.approve(waiting, actor=official)
    by_pact = {"pact_id": pact.id}
    return {
        **{f"pacts.{name}": by_pact for name in ("show", "versions", "pdf", "submit", "clauses", "sign", "comment",
                                                 "support", "withdraw_support", "report", "dispute",
                                                 "consultation_record")},
        "pacts.decide": {**by_pact, "action": "approve"},
        "pacts.committee": {"dispute_id": dispute.id},
        "pacts.outcome": {"dispute_id": dispute.id},
        "pacts.standard_form": {"form_id": form.id},
        "pacts.commons_show": {"commons_id": commons.id},
        "pacts.commons_edit": {"commons_id": commons.id},
        "pacts.commons_upload": {"commons_id": commons.id},
        "pacts.attachment": {"attachment_id": photo.id},
        **{f"pacts_api.{name}": by_pact for name in ("pact", "versions", "reports")},
        **{f"pacts_api.{name}": {"pact_id": waiting.id} for name in ("submit", "clauses", "file_report", "support")},
        "pacts_api.decide": {**by_pact, "action": "approve"},
    }
