"""The JSON API base: one flask-smorest Api per app, JSON errors of one shape
(`{"error": code, "message": …}`), and helpers the modules' api.py files use."""
from flask import jsonify, request
from flask_babel import gettext as _
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from .errors import DomainError

API_PREFIX = "/api/v1"

# Machine codes for the statuses the API answers with.
STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 410: "gone", 413: "too_large",
    415: "unsupported_media_type", 422: "unprocessable", 429: "too_many_requests",
    500: "internal_error", 503: "unavailable",
}


class ApiError(HTTPException):
    def __init__(self, status: int, code: str, message, extra: dict | None = None):
        super().__init__(str(message))
        self.code = status
        self.error_code = code
        self.message = message
        self.extra = extra or {}


def api_abort(status: int, code: str, message, **extra):
    raise ApiError(status, code, message, extra)


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX + "/") or request.path == API_PREFIX


def error_response(status: int, code: str, message, **extra):
    body = {"error": code, "message": str(message), **extra}
    response = jsonify(body)
    response.status_code = status
    return response


class ProcomunApi(Api):
    """flask-smorest's Api, answering errors in Procomún's JSON shape on API
    paths and leaving HTML pages to the app's own error pages."""

    def handle_http_exception(self, error):
        if not is_api_request():
            from .pages import html_error  # pages import the API for /healthz
            return html_error(error)
        if isinstance(error, ApiError):
            return error_response(error.code, error.error_code, error.message, **error.extra)
        data = getattr(error, "data", None) or {}
        status = error.code or 500
        extra = {}
        errors = data.get("errors") or data.get("messages")
        if errors:
            extra["errors"] = errors
        message = data.get("message") or _default_message(status)
        return error_response(status, STATUS_CODES.get(status, "error"), message, **extra)


def _default_message(status: int) -> str:
    return {
        400: _("The request could not be understood."),
        401: _("A valid bearer token is required."),
        403: _("This account may not do this."),
        404: _("Nothing was found at this address."),
        405: _("This method is not allowed here."),
        413: _("The request is too large."),
        422: _("The request is not valid."),
        429: _("Too many requests; try again later."),
    }.get(status, _("The server could not answer this request."))


def domain_error_response(error: DomainError):
    return error_response(error.status, error.code, error.message,
                          **({"field": error.field} if error.field else {}))
