"""What of a pact moderation covers (app/moderation/registry.py): the proposal the citizens wrote
(with the clauses no party has signed), comments, disputes and reports; and the hourly limits
on new comments and proposals."""
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.errors import Invalid
from app.moderation.registry import register_kind, register_limit

from .models import CLAUSES, Comment, Dispute, Pact, PactState, PactVersion, Report

PROPOSAL_FIELDS = {"title": _l("Title"), "what": _l("What"), "why": _l("Why"),
                   "participants": _l("Who takes part"), "resources_note": _l("What is asked of the city")}


def _proposal_texts(pact: Pact) -> dict:
    """The proposal's own texts, then each clause of each version no party has signed (a signed
    version is a record: it is never hidden nor edited)."""
    texts = {key: (label, getattr(pact, key) or "") for key, label in PROPOSAL_FIELDS.items()}
    for version in pact.versions:
        if not version.signatures:
            for key, label in CLAUSES.items():
                if version.clause(key):
                    texts[f"v{version.number}.{key}"] = (
                        _l("Version %(number)s: %(clause)s", number=version.number, clause=label), version.clause(key))
    return texts


def _redact_proposal(pact: Pact, changes: dict) -> None:
    if "title" in changes and not changes["title"].strip():
        raise Invalid(_l("Give the proposal a title."), field="title")
    versions = {v.number: v for v in pact.versions if not v.signatures}
    for key, text in changes.items():
        if key in PROPOSAL_FIELDS:
            setattr(pact, key, text)
            continue
        number, clause = key[1:].split(".", 1)
        version = versions[int(number)]
        version.clauses = {**version.clauses, clause: text}  # a new dict: the JSON column sees the change


def _on_pact(anchor: str):
    return lambda row: url_for("pacts.show", pact_id=row.pact_id) + f"#{anchor}-{row.id}"


def _public_pact(row) -> bool:
    return row.pact.state != PactState.DRAFT


register_limit("pact_proposal", setting="PROCOMUN_MODERATION_PROPOSALS_PER_HOUR",
               author_column=Pact.proposer_id, created_column=Pact.created_at, field="title",
               message=_l("You have written as many proposals as an account may in one hour (%(limit)s). "
                          "You can propose again at %(time)s."))
register_limit("pact_comment", setting="PROCOMUN_MODERATION_COMMENTS_PER_HOUR",
               author_column=Comment.author_id, created_column=Comment.created_at, field="body",
               message=_l("You have written as many comments as an account may in one hour (%(limit)s). "
                          "You can comment again at %(time)s."))

register_kind("pact_proposal", label=_l("Pact proposal"), model=Pact,
              texts=_proposal_texts, redact=_redact_proposal, authors=lambda pact: [pact.proposer_id],
              authored=lambda user_id: select(Pact.id).where(Pact.proposer_id == user_id),
              link=lambda pact: url_for("pacts.show", pact_id=pact.id) + "#proposal",
              place=lambda pact: pact.title, reportable=lambda pact: pact.state != PactState.DRAFT,
              limit="pact_proposal", watched=((Pact, "title", *PROPOSAL_FIELDS), (PactVersion, "clauses")))

register_kind("pact_comment", label=_l("Comment on a pact"), model=Comment, fields={"body": _l("Comment")},
              authors=lambda comment: [comment.author_id], link=_on_pact("comment"),
              authored=lambda user_id: select(Comment.id).where(Comment.author_id == user_id),
              place=lambda comment: comment.pact.title, reportable=_public_pact, limit="pact_comment", holdable=True)

register_kind("pact_dispute", label=_l("Dispute over a pact"), model=Dispute,
              fields={"subject": _l("What the dispute is about")}, authors=lambda dispute: [dispute.raised_by_id],
              authored=lambda user_id: select(Dispute.id).where(Dispute.raised_by_id == user_id),
              link=_on_pact("dispute"), place=lambda dispute: dispute.pact.title)

register_kind("pact_report", label=_l("Report on a pact"), model=Report,
              fields={"activities": _l("Activities done"), "resources_used": _l("Resources used"),
                      "results": _l("Results")},
              authors=lambda report: [report.author_id], link=_on_pact("report"),
              authored=lambda user_id: select(Report.id).where(Report.author_id == user_id),
              place=lambda report: report.pact.title)
