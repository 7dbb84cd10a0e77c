import pytest

from .smtp_sink import SmtpSink


@pytest.fixture
def smtp(app):
    """A real SMTP server the app sends to (retries wait the default back-off: see due_now)."""
    sink = SmtpSink().start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port, MAIL_TIMEOUT=5)
    yield sink
    sink.stop()
