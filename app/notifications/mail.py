"""Building one email per recipient, and handing it to SMTP or to the instance's mail folder.

Standard library only (email + smtplib): a message is built with
the MIME classes (HTML with a plain-text alternative, attachments) and sent over
one SMTP connection per batch. With no MAIL_SERVER the messages are written as
.eml files under instance/mail/ for a newcomer to read."""
import smtplib
import socket
from datetime import datetime, timezone
from email import encoders
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
# SMTP wants CRLF line ends; smtplib converts only str messages, not bytes.
SMTP_LINES = compat32.clone(linesep="\r\n")


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
    body = MIMEMultipart("alternative")
    body.attach(MIMEText(text, "plain", "utf-8"))
    body.attach(MIMEText(html, "html", "utf-8"))
    if attachments:
        message = MIMEMultipart("mixed")
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
    sender = config["MAIL_DEFAULT_SENDER"]
    name, address = parseaddr(sender)
    message["From"] = formataddr((str(Header(name, "utf-8")), address)) if name else address
    message["To"] = to  # one recipient per message: nobody sees anybody else's address
    message["Subject"] = Header(subject, "utf-8").encode()
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or None)
    if unsubscribe_url:  # none on a personal message (a reset link): nobody unsubscribes from those
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    return message


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
            refused = self.connection.sendmail(parseaddr(self.config["MAIL_DEFAULT_SENDER"])[1],
                                               [message["To"]], message.as_bytes(policy=SMTP_LINES))
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
        (self.folder / f"{stamp}-message-{message_id}.eml").write_bytes(bytes(message))

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
