"""The signed pact as a PDF: every clause, the parties, the signatures and the version."""
from app.documents import render_pdf

from .models import CLAUSES, Party


def pact_pdf(pact, locale: str) -> bytes:
    """The version in force of a signed pact: headings and labels in the reader's `locale`, the
    clauses as signed, in the pact's own language."""
    version = pact.signed_version
    return render_pdf("pacts/pact_document.html", locale=locale,
                      reference=f"PACT-{pact.id}-v{version.number}", title=pact.title,
                      pact=pact, version=version, clauses=CLAUSES, Party=Party)


def consultation_pdf(pact, locale: str) -> bytes:
    """The record of a proposal's public consultation: the proposal, its supports and every comment,
    hidden ones by their notice (never their text). Issued in the reader's language."""
    return render_pdf("pacts/consultation_document.html", locale=locale,
                      reference=f"PACT-{pact.id}-CONSULTATION", title=pact.title, pact=pact)
