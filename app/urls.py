"""Absolute links that work inside a request and outside one (CLI, worker, demo)."""
from flask import current_app, has_request_context, url_for


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of `endpoint`: from the request's host when there is
    one, else from PROCOMUN_BASE_URL (the site's public address)."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=current_app.config["PROCOMUN_BASE_URL"]):
        return url_for(endpoint, _external=True, **values)
