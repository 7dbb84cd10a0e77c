"""What a bid carries besides its price: the declarations its bidder ticks (those the tender
requires, by its procedure and criteria) and its documents, PDFs checked by their first bytes and
kept under a name we generate. Both are sealed with the offer: until the deadline only the
bidding organisation's members see them; the officials once bidding has closed."""
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.accounts.operations import is_official
from app.errors import Invalid, NotFound
from app.extensions import db

from .models import Bid, BidDocument, CriterionKind, Procedure, Process
from .moves import bidding_open

MAX_BYTES = 5 * 1024 * 1024  # a technical proposal with a few scanned certificates
MAX_DOCUMENTS = 5
PDF = b"%PDF-"


@dataclass(frozen=True)
class Declaration:
    code: str
    text: object
    required: object  # process -> bool


DECLARATIONS = {d.code: d for d in (
    Declaration("no_exclusion_grounds",
                _l("None of the grounds for exclusion applies to the organisation: no final conviction, no "
                   "unpaid taxes or social security, no insolvency, no conflict of interest."),
                lambda process: True),
    Declaration("social_economy",
                _l("The organisation is a social-economy organisation or a sheltered workshop, as its statutes "
                   "and its registration show."),
                lambda process: process.procedure == Procedure.RESERVED),
    Declaration("wage_ratio",
                _l("The ratio between the highest and the lowest wage paid by the organisation is within the "
                   "limit the tender sets."),
                lambda process: any(c.kind == CriterionKind.FAIR_WAGES for c in process.criteria)),
)}


def required_declarations(process: Process) -> list[Declaration]:
    return [d for d in DECLARATIONS.values() if d.required(process)]


def check_declarations(process: Process, ticked) -> list[str]:
    """The declarations ticked, in the published order; every required one must be."""
    ticked = set(ticked or ())
    if ticked - set(DECLARATIONS):
        raise Invalid(_l("Unknown declaration."), field="declarations")
    missing = [d.code for d in required_declarations(process) if d.code not in ticked]
    if missing:  # beside the first box left empty
        raise Invalid(_l("Tick every declaration this tender requires; a bid without them is not admitted."),
                      field=f"declare_{missing[0]}")
    return [code for code in DECLARATIONS if code in ticked]


def check_documents(documents) -> list[tuple[str, bytes]]:
    """Read the uploads [(stream, content type, title)]: at most MAX_DOCUMENTS PDFs of at most
    MAX_BYTES each, recognised by their first bytes, not by what the browser claims."""
    documents = list(documents or ())
    if len(documents) > MAX_DOCUMENTS:
        raise Invalid(_l("Attach at most %(count)s documents.", count=MAX_DOCUMENTS), field="documents")
    read = []
    for stream, content_type, title in documents:
        content = stream.read(MAX_BYTES + 1)
        if len(content) > MAX_BYTES:
            raise Invalid(_l("Each document may be at most %(size)s MB.", size=MAX_BYTES // (1024 * 1024)),
                          field="documents")
        if (content_type or "").split(";")[0].strip().lower() != "application/pdf" or not content.startswith(PDF):
            raise Invalid(_l("Attach the documents as PDF files."), field="documents")
        read.append(((title or "").strip()[:200] or str(_l("Document")), content))
    return read


def upload_folder() -> Path:
    return Path(current_app.instance_path) / "procurement-uploads"


def store_documents(bid: Bid, documents: list[tuple[str, bytes]]) -> None:
    """Keep the checked documents with the bid, in the caller's transaction."""
    if not documents:
        return
    folder = upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    for title, content in documents:
        stored = f"{secrets.token_hex(16)}.pdf"
        bid.documents.append(BidDocument(title=title, stored_name=stored, content_type="application/pdf",
                                         size=len(content)))
        (folder / stored).write_bytes(content)


def can_open(user, bid: Bid) -> bool:
    """Whether `user` may read the bid's documents and declarations: its organisation's members
    always; officials once bidding has closed (sealed until then, like the offer)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.member_of(bid.organisation) or (is_official(user) and not bidding_open(bid.process))


def document_by_id(document_id: int, user) -> tuple[BidDocument, Path]:
    """A bid's document and its file, if `user` may open it (else it does not exist for them)."""
    document = db.session.get(BidDocument, document_id)
    if document is None or not can_open(user, document.bid):
        raise NotFound(_l("No such document."))
    path = upload_folder() / document.stored_name
    if not path.is_file():
        raise NotFound(_l("No such document."))
    return document, path
