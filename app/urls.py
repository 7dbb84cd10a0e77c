"""Absolute links: always at the site's public address (PROCOMUN_BASE_URL), inside a request
or outside one (CLI, worker, demo).

Never from the request: its Host header is whatever the client sent, so a link built from it
(in open data, an email, a PDF, an API answer, a calendar) would publish the attacker's address
(`Host: attacker.example`), and behind a TLS-terminating proxy it would say http."""
from urllib.parse import quote, urlsplit

from flask import current_app, url_for


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


class RowURL:
    """One endpoint's URL for each row of a long table, built once: `url_for` costs about 9 µs a
    call (the URL map's rule matched, its converters run), a table's 50 rows × 3 links of it more
    than a millisecond of a page. `RowURL("books.transfer", "transfer_id")(7)` is url_for's own answer
    for 7; the other values (`**fixed`) are the same on every row."""

    # An id no row has, whose digits mark where each row's own goes; BoundedInt accepts it.
    _MARK = 918273645546372819

    def __init__(self, endpoint: str, key: str, **fixed):
        self.prefix, _mark, self.suffix = url_for(endpoint, **fixed, **{key: self._MARK}).partition(str(self._MARK))

    def __call__(self, value) -> str:
        return f"{self.prefix}{quote(str(value), safe='')}{self.suffix}"
