"""Uploads through the real pages: size limits (the request's and the module's),
the type recognised by the file's bytes rather than the browser's claim, names
from the sender never used on disk, and files served so they cannot run in our origin."""
import io

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.extensions import db
from pacts import attachments
from pacts.models import Attachment, Commons, CommonsKind
from tests.conftest import csrf_token

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HTML = b"<html><script>alert(1)</script></html>"


@pytest.fixture
def commons(app, client_as):
    official = client_as(Role.OFFICIAL)
    row = Commons(name="Giardino di via Libia", kind=CommonsKind.GREEN_AREA)
    db.session.add(row)
    db.session.commit()
    return official, row


def _upload(client, commons_id, content, filename, content_type, **headers):
    return client.post(f"/pacts/commons/{commons_id}/attachments", headers=headers, data={
        "csrf_token": csrf_token(client), "title": "Photo",
        "file": (io.BytesIO(content), filename, content_type)}, content_type="multipart/form-data")


def _attachments():
    return db.session.scalar(select(func.count()).select_from(Attachment))


@pytest.mark.parametrize("content, filename, content_type, message", [
    (HTML, "photo.png", "image/png", "Upload a JPEG or PNG photo, or a PDF document."),
    (PNG, "page.html", "text/html", "Upload a JPEG or PNG photo, or a PDF document."),
    (b"%PDF-1.4" + HTML, "x.svg", "image/svg+xml", "Upload a JPEG or PNG photo, or a PDF document."),
    (b"", "empty.png", "image/png", "Choose a file to upload."),
])
def test_a_file_whose_bytes_are_not_what_it_claims_is_refused(app, commons, content, filename,
                                                              content_type, message):
    official, row = commons
    response = _upload(official, row.id, content, filename, content_type)
    assert response.status_code == 302
    assert message in official.get(response.headers["Location"]).get_data(as_text=True)
    assert _attachments() == 0


def test_a_file_over_the_module_limit_is_refused_with_a_message(app, commons):
    official, row = commons
    app.config["PACTS_UPLOAD_MAX_BYTES"] = 1024
    response = _upload(official, row.id, PNG + b"\x00" * 2048, "big.png", "image/png",
                       **{"Accept-Language": "es"})
    refused = official.get(response.headers["Location"], headers={"Accept-Language": "es"})
    assert "1 MB" in refused.get_data(as_text=True)
    assert _attachments() == 0


def test_a_request_over_the_site_limit_gets_a_clear_413(app, commons):
    official, row = commons
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = _upload(official, row.id, PNG + b"\x00" * 10_000, "big.png", "image/png")
    assert response.status_code == 413
    assert "Upload too large" in response.get_data(as_text=True)
    assert _attachments() == 0


def test_the_senders_file_name_never_reaches_the_disk(app, commons):
    official, row = commons
    response = _upload(official, row.id, PNG, "../../../../tmp/evil.png", "image/png")
    assert response.status_code == 302
    stored = db.session.scalars(select(Attachment)).one()
    folder = attachments.upload_folder().resolve()
    assert (folder / stored.stored_name).resolve().parent == folder
    assert "evil" not in stored.stored_name and ".." not in stored.stored_name
    served = official.get(f"/pacts/files/{stored.id}")
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "evil" not in served.headers.get("Content-Disposition", "")
    assert official.get("/pacts/files/..%2F..%2Fetc%2Fpasswd").status_code == 404
