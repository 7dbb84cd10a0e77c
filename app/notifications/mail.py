"""Building one email per recipient, and handing it to SMTP or to the instance's mail folder.

Standard library only (email + smtplib): a message is built with
the MIME classes (HTML with a plain-text alternative, attachments) and sent over
one SMTP connection per batch. With no MAIL_SERVER the messages are written as
.eml files under instance/mail/ for a newcomer to read."""
import base64
import secrets
import smtplib
import socket
from datetime import datetime, timezone
from email import encoders
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.policy import compat32
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

UNSUBSCRIBE_SALT = "notifications.unsubscribe"


class TransientError(Exception):
    """Try again later: the server was away, busy, or dropped the connection."""


class PermanentError(Exception):
    """The server refused this message for good (unknown mailbox, say)."""


def unsubscribe_token(user_id: int, kinds) -> str:
    serializer = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)
    return serializer.dumps({"u": user_id, "k": sorted(kinds)})


def read_unsubscribe_token(token: str) -> tuple[int, list[str]] | None:
    serializer = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)
    try:
        payload = serializer.loads(token)
        return int(payload["u"]), [str(k) for k in payload["k"]]
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def build(*, to: str, subject: str, text: str, html: str, unsubscribe_url: str | None, attachments=()) -> Message:
    """One message for one recipient: text and HTML alternatives, then any attachments.

    Built with the email package's compat32 classes: headers are kept as given
    (Header encodes non-ASCII), which is many times faster than the modern
    policy's parsed headers when a worker writes a hundred thousand messages."""
    config = current_app.config
    body = MIMEMultipart("alternative", boundary=_boundary())
    body.attach(_text_part("plain", text))
    body.attach(_text_part("html", html))
    if attachments:
        message = MIMEMultipart("mixed", boundary=_boundary())
        message.attach(body)
        for filename, mimetype, content in attachments:
            maintype, _, subtype = mimetype.partition("/")
            part = MIMEBase(maintype, subtype or "octet-stream")
            part.set_payload(content)
            encoders.encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=filename)
            message.attach(part)
    else:
        message = body
    sender, address = _sender(config["MAIL_DEFAULT_SENDER"])
    message["From"] = sender
    message["To"] = to  # one recipient per message: nobody sees anybody else's address
    message["Subject"] = encoded_words(subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or None)
    if unsubscribe_url:  # none on a personal message (a reset link): nobody unsubscribes from those
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    return message


@lru_cache(maxsize=8)
def _sender(configured: str) -> tuple[str, str]:
    """(the From header, the bare address) of MAIL_DEFAULT_SENDER: parsed once, not per message."""
    name, address = parseaddr(configured)
    return (formataddr((str(Header(name, "utf-8")), address)) if name else address), address


def encoded_words(text: str) -> str:
    """A header's text as RFC 2047 allows it: as it is when it is plain ASCII on one line, else
    base64 encoded words of UTF-8 (whole characters, at most 75 columns each, one per folded line).
    Header(text, "utf-8").encode() does the same, weighing quoted-printable against base64 for
    every character: half a millisecond a subject line."""
    text = " ".join(text.split()) if ("\n" in text or "\r" in text) else text
    if text.isascii() and len(text) < 900 and "=?" not in text:  # "=?" would read as an encoded word
        return text
    words, chunk, size = [], [], 0
    for char in text:
        width = len(char.encode("utf-8"))
        if size + width > 45:  # 45 bytes are 60 base64 characters, 72 with =?utf-8?b? and ?=
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += width
    words.append("".join(chunk))
    return "\n ".join(f"=?utf-8?b?{base64.b64encode(word.encode('utf-8')).decode('ascii')}?=" for word in words)


def _boundary() -> str:
    # Every part is base64 (no "-" in its alphabet) and a header line never starts with "--", so
    # this cannot occur in the message: the generator need not search the text for a free one.
    return f"procomun-{secrets.token_hex(12)}"


def _text_part(subtype: str, content: str) -> Message:
    """What MIMEText(content, subtype, "utf-8") makes (UTF-8, base64), without its charset
    machinery per part."""
    part = Message()
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["MIME-Version"] = "1.0"
    part["Content-Transfer-Encoding"] = "base64"
    part.set_payload(base64.encodebytes(content.encode("utf-8")).decode("ascii"))
    return part


class _Writer(BytesGenerator):
    """compat32's generator, with the headers build() sets written as they are: each is ASCII
    already (Header-encoded where it was not, folded with a leading space), so folding it again
    (a Header object per header, sixteen a message) was most of a worker's time writing one.
    Anything else (a line break not followed by a fold, say) goes through the policy as before."""

    def _write_headers(self, msg):
        for name, value in msg.raw_items():
            if isinstance(value, str) and len(value) < 900 and value.isascii() and "\r" not in value and all(
                    line[:1] in (" ", "\t") for line in value.split("\n")[1:]):
                self._fp.write(f"{name}: {value}".replace("\n", self._NL).encode("ascii") + self._encoded_NL)
            else:
                self._fp.write(self.policy.fold_binary(name, value))
        self.write(self._NL)


def as_bytes(message: Message, linesep: str = "\n") -> bytes:
    """The message as it goes on the wire (linesep CRLF) or into an .eml file."""
    out = BytesIO()
    _Writer(out, mangle_from_=False, policy=compat32.clone(linesep=linesep)).flatten(message)
    return out.getvalue()


class SmtpTransport:
    """One SMTP connection for a batch of messages; errors sorted into transient or permanent."""

    def __init__(self, config):
        self.config = config
        self.connection = None

    def __enter__(self):
        return self

    def _connect(self):
        config = self.config
        try:
            connection = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"],
                                      timeout=config["MAIL_TIMEOUT"])
            # SMTP is one short command, one short reply: without NODELAY each waits on Nagle.
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if config["MAIL_USE_TLS"]:
                connection.starttls()
            if config["MAIL_USERNAME"]:
                connection.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except (OSError, smtplib.SMTPException) as error:
            raise TransientError(f"cannot reach {config['MAIL_SERVER']}:{config['MAIL_PORT']}: {error}") from None
        self.connection = connection

    def send(self, message: Message, message_id: int) -> None:
        if self.connection is None:
            self._connect()
        try:
            refused = self.connection.sendmail(_sender(self.config["MAIL_DEFAULT_SENDER"])[1],
                                               [message["To"]], as_bytes(message, "\r\n"))
        except smtplib.SMTPRecipientsRefused as error:
            code, reason = next(iter(error.recipients.values()))
            raise _failure(code, reason) from None
        except smtplib.SMTPResponseException as error:
            self.close()
            raise _failure(error.smtp_code, error.smtp_error) from None
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise TransientError(f"connection lost: {error or type(error).__name__}") from None
        if refused:
            raise PermanentError(str(refused))

    def close(self):
        if self.connection is not None:
            try:
                self.connection.quit()
            except (OSError, smtplib.SMTPException, socket.error):
                pass
            self.connection = None

    def __exit__(self, *exc):
        self.close()


class FolderTransport:
    """No MAIL_SERVER: each message becomes instance/mail/<id>.eml."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __enter__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def send(self, message: Message, message_id: int) -> None:
        # A timestamp first: names sort newest last and never clash after a database reset.
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        (self.folder / f"{stamp}-message-{message_id}.eml").write_bytes(as_bytes(message))

    def __exit__(self, *exc):
        pass


def mail_folder() -> Path:
    return Path(current_app.instance_path) / "mail"


def transport():
    if current_app.config.get("MAIL_SERVER"):
        return SmtpTransport(current_app.config)
    return FolderTransport(mail_folder())


def eml_files() -> list[Path]:
    folder = mail_folder()
    return sorted(folder.glob("*.eml"), reverse=True) if folder.exists() else []


def _failure(code: int, reason) -> Exception:
    """An SMTP answer as our error: a 5xx will never succeed, anything else may on a retry."""
    text = f"{code} {reason.decode(errors='replace') if isinstance(reason, bytes) else reason}"
    return (PermanentError if 500 <= code < 600 else TransientError)(text)
