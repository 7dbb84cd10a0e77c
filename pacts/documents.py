"""The signed pact as a PDF: every clause, the parties, the signatures and the version."""
from app.documents import render_pdf

from .models import CLAUSES, Party


def pact_pdf(pact) -> bytes:
    """The version in force of a signed pact, in the pact's language."""
    version = pact.signed_version
    return render_pdf("pacts/pact_document.html", locale=pact.locale,
                      reference=f"PACT-{pact.id}-v{version.number}", title=pact.title,
                      pact=pact, version=version, clauses=CLAUSES, Party=Party)
