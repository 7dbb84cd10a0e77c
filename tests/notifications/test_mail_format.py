"""How a message is written: what a mail client reads back from the bytes the worker sends is what
was built, in any language, whatever the subject line."""
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest

from app.notifications import mail

SUBJECTS = ["Your voucher expires on 3 March", "Tu bono «Cura» caduca el 3 de març · ñandú " * 4,
            "€" * 40, "x" * 950, "Looks like =?utf-8?b?aGk=?= an encoded word",
            "Two\r\nlines\nBcc: someone@example.org"]


def _read(header: str) -> str:
    return str(make_header(decode_header(header)))


def _shown(subject: str) -> str:
    """A subject as a header carries it: a line break becomes a space (it would start a header)."""
    return " ".join(subject.split()) if "\n" in subject or "\r" in subject else subject


@pytest.mark.parametrize("subject", SUBJECTS)
def test_a_subject_reads_back_as_written_on_lines_a_server_takes(subject):
    encoded = mail.encoded_words(subject)
    assert _read(encoded) == _shown(subject)
    assert encoded.isascii() and all(len(line) <= 998 for line in encoded.split("\n"))
    assert all(line.startswith(" ") for line in encoded.split("\n")[1:])  # folds only, never a new header


@pytest.mark.parametrize("linesep", ["\r\n", "\n"])
def test_the_bytes_parse_back_into_the_message_built(app, linesep):
    with app.app_context():
        app.config["MAIL_DEFAULT_SENDER"] = "Ajuntament de Girona · Procomú <city@example.org>"
        built = mail.build(to="anna@example.org", subject=SUBJECTS[1], text="Hola, Anna: el teu bo…",
                           html="<p>Hola, <b>Anna</b></p>", unsubscribe_url="https://city.example/u/abc",
                           attachments=[("acta.pdf", "application/pdf", b"%PDF-1.7 \x00\xff")])
        raw = mail.as_bytes(built, linesep)
    assert raw.isascii() and all(len(line) <= 998 for line in raw.split(linesep.encode()))
    if linesep == "\r\n":  # on the wire every line ends in CRLF, none in a bare LF
        assert raw.count(b"\n") == raw.count(b"\r\n")
    read = message_from_bytes(raw)
    assert read["To"] == "anna@example.org" and _read(read["Subject"]) == SUBJECTS[1]
    assert _read(read["From"]) == "Ajuntament de Girona · Procomú <city@example.org>"
    assert read["List-Unsubscribe"] == "<https://city.example/u/abc>"
    assert read.get_content_type() == "multipart/mixed"
    body, attachment = read.get_payload()
    plain, html = body.get_payload()
    assert plain.get_payload(decode=True).decode(plain.get_content_charset()) == "Hola, Anna: el teu bo…"
    assert html.get_content_type() == "text/html" and html.get_payload(decode=True) == b"<p>Hola, <b>Anna</b></p>"
    assert attachment.get_filename() == "acta.pdf" and attachment.get_payload(decode=True) == b"%PDF-1.7 \x00\xff"
    # Each multipart has its own boundary, and neither occurs inside a part.
    assert body.get_boundary() != read.get_boundary()
    assert raw.count(f"--{body.get_boundary()}--".encode()) == 1
