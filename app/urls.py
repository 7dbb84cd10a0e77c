"""Absolute links that work inside a request and outside one (CLI, worker, demo)."""
from flask import current_app, has_request_context, url_for


def public_request_context():
    """A request context at the site's public address (PROCOMUN_BASE_URL), so that
    url_for(_external=True) outside a web request builds the links people will follow."""
    return current_app.test_request_context(base_url=current_app.config["PROCOMUN_BASE_URL"])


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of `endpoint`: from the request's host when there is one,
    else from the public address."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with public_request_context():
        return url_for(endpoint, _external=True, **values)
