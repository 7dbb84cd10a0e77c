"""Absolute links: always at the site's public address (PROCOMUN_BASE_URL), inside a request
or outside one (CLI, worker, demo).

Never from the request: its Host header is whatever the client sent, so a link built from it
(in open data, an email, a PDF, an API answer, a calendar) would publish the attacker's address
(`Host: attacker.example`), and behind a TLS-terminating proxy it would say http."""
from urllib.parse import urlsplit

from flask import current_app


def base_url() -> str:
    """The public address without a trailing slash, e.g. https://procomun.city.example."""
    return current_app.config["PROCOMUN_BASE_URL"].rstrip("/")


def public_request_context():
    """A request context at the public address, for code that renders templates or calls
    url_for(_external=True) outside a web request (the notification worker)."""
    return current_app.test_request_context(base_url=base_url())


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of `endpoint` (its full name, "module.view") at the public address."""
    parts = urlsplit(base_url())
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    anchor = values.pop("_anchor", None)
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{anchor}" if anchor else url


def server_name() -> str:
    """The public host name alone (for iCalendar UIDs and the like)."""
    return urlsplit(base_url()).hostname or "procomun"
