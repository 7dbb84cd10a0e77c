"""Absolute links come from PROCOMUN_BASE_URL alone: a request whose Host header names another
site (`Host: attacker.example`) changes no link in any page, open-data file, OCDS release or
record, calendar, PDF, API answer or email."""
from sqlalchemy import select

from app.accounts import operations as accounts
from app.accounts.models import User
from app.extensions import db
from app.notifications.worker import drain
from app.urls import external_url
from councils import meetings as council_meetings
from councils.models import Meeting, MeetingStatus

from .crawl import PEOPLE, load_demo
from .test_personal_data import crawl

BASE = "https://procomun.villanova.example"
ATTACKER = "attacker.example"


def test_a_forged_host_changes_no_link_in_pages_files_calendars_or_pdfs(app):
    app.config["PROCOMUN_BASE_URL"] = BASE
    load_demo(app)
    texts = crawl(app, host=ATTACKER)
    assert len(texts) > 100
    assert [url for url, text in texts.items() if ATTACKER in text] == []
    # The links are there, at the public address: in the OCDS files, the calendars, the PDFs.
    for suffix in ("procurement.json", "procurement-records.json", "record.json", ".ics", "award.pdf"):
        assert any(url.endswith(suffix) and BASE in text for url, text in texts.items()), suffix


def test_api_answers_and_the_api_description_use_the_public_address(app):
    app.config["PROCOMUN_BASE_URL"] = BASE
    load_demo(app)
    client = app.test_client()
    user = db.session.execute(select(User).where(User.email == PEOPLE["admin"])).scalar_one()
    token = accounts.issue_token(user, "base-url")[0]
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}", "Host": ATTACKER}
    document = client.get("/api/v1/openapi.json", headers=headers)
    assert ATTACKER not in document.get_data(as_text=True)
    answered = 0
    for path, operations in document.get_json()["paths"].items():
        if "get" in operations and "{" not in path:
            answer = client.get(path, headers=headers)
            assert ATTACKER not in answer.get_data(as_text=True), path
            answered += answer.status_code == 200
    assert answered >= 8
    with app.test_request_context("/api/v1/vouchers/contributions", base_url=f"http://{ATTACKER}"):
        assert external_url("vouchers.receipt", contribution_id=7) == f"{BASE}/vouchers/contributions/7/receipt.pdf"


def test_emails_and_their_calendars_use_the_public_address(app, smtp):
    app.config["PROCOMUN_BASE_URL"] = BASE
    load_demo(app)
    drain()
    smtp.messages.clear()
    meeting = db.session.execute(select(Meeting).where(Meeting.status == MeetingStatus.SCHEDULED.value)
                                 .order_by(Meeting.starts_at.desc())).scalars().first()
    official = db.session.execute(select(User).where(User.email == PEOPLE["official"])).scalar_one()
    # The notice is sent from a web request that came with a forged Host header.
    with app.test_request_context(f"/councils/meetings/{meeting.id}/notice", method="POST",
                                  base_url=f"http://{ATTACKER}"):
        council_meetings.send_notice(meeting, actor=official)
    drain()
    assert smtp.messages
    for _recipients, message in smtp.messages:
        parts = [part.get_payload(decode=True) or b"" for part in message.walk() if not part.is_multipart()]
        text = b"\n".join(parts).decode("utf-8", "replace") + str(message)
        assert ATTACKER not in text
        assert BASE in text
        assert any(part.get_content_type() == "text/calendar" for part in message.walk())
