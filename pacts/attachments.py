"""Photos and documents kept with a commons of the register or with a pact's report: checked
by their first bytes, stored under a name we generate, served to whoever may read their pact."""
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.audit.operations import record, snapshot
from app.database import transaction
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db

from .access import is_signatory, require_official, visible_to
from .models import Attachment, Commons, Report
from .settings import setting

# What may be uploaded, recognised by its first bytes and not by what the browser claims.
UPLOAD_TYPES = {
    "image/jpeg": (b"\xff\xd8\xff", "jpg"),
    "image/png": (b"\x89PNG\r\n\x1a\n", "png"),
    "application/pdf": (b"%PDF-", "pdf"),
}


def upload_folder() -> Path:
    return Path(current_app.instance_path) / "pacts-uploads"


def store_attachment(stream, content_type: str, title: str, *, actor, commons: Commons | None = None,
                     report: Report | None = None) -> Attachment:
    """Keep an uploaded photo or PDF: within the size limit, of an allowed type
    confirmed by its first bytes, under a name we generate (never the sender's)."""
    if commons is not None:
        require_official(actor)
    elif report is not None:
        if not is_signatory(report.pact, actor):
            raise NotAllowed(_l("Only the signatories of this pact report on it."))
    limit = setting("PACTS_UPLOAD_MAX_BYTES")
    content = stream.read(limit + 1)
    if not content:
        raise Invalid(_l("Choose a file to upload."), field="file")
    if len(content) > limit:
        raise Invalid(_l("The file is larger than %(size)s MB.", size=limit // (1024 * 1024) or 1), field="file")
    kind = UPLOAD_TYPES.get((content_type or "").split(";")[0].strip().lower())
    if kind is None or not content.startswith(kind[0]):
        raise Invalid(_l("Upload a JPEG or PNG photo, or a PDF document."), field="file")
    title = (title or "").strip()[:200] or str(_l("Attachment"))
    folder = upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{secrets.token_hex(16)}.{kind[1]}"
    path = folder / stored
    with transaction():
        attachment = Attachment(title=title, stored_name=stored,
                                content_type=content_type.split(";")[0].strip().lower(), size=len(content),
                                uploaded_by_id=actor.id, commons=commons, report=report)
        db.session.add(attachment)
        record("pact.attachment_added", attachment, actor=actor,
               after=snapshot(attachment, ["title", "content_type", "size", "commons_id", "report_id"]))
        path.write_bytes(content)
    return attachment


def attachment_by_id(attachment_id: int, user=None) -> tuple[Attachment, Path]:
    """An attachment and its file, if the user may see it (report photos follow their pact)."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(_l("No such file."))
    if attachment.report is not None and not visible_to(attachment.report.pact, user):
        raise NotFound(_l("No such file."))
    path = upload_folder() / attachment.stored_name
    if not path.is_file():
        raise NotFound(_l("No such file."))
    return attachment, path
