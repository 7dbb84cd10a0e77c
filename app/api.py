"""The JSON API base: one flask-smorest Api per app, JSON errors of one shape
(`{"error": code, "message": …}`), and helpers the modules' api.py files use."""
import json
import re

import marshmallow as ma
from flask import jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from .dates import in_range, out_of_range_message
from .error_pages import html_error
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


class ErrorSchema(ma.Schema):
    """Every API error's body (documentation: error_response writes it)."""
    error = ma.fields.String(required=True, metadata={
        "description": "A stable code a program can branch on: unauthorized, not_found, unprocessable, "
                       "exhausted, idempotency_key_reused, …"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong, in the request's "
                                                                        "language (Accept-Language)"})
    field = ma.fields.String(metadata={"description": "The request's field the refusal concerns, if one does"})
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()),
                            metadata={"description": "Per field, what is wrong with it (malformed requests)"})


class ProcomunApi(Api):
    """flask-smorest's Api, answering errors in Procomún's JSON shape on API
    paths and leaving HTML pages to the app's own error pages."""

    ERROR_SCHEMA = ErrorSchema  # the "Error" component of the OpenAPI document: the shape we answer

    def handle_http_exception(self, error):
        if not is_api_request():
            return html_error(error)
        if isinstance(error, ApiError):
            return error_response(error.code, error.error_code, error.message, **error.extra)
        data = getattr(error, "data", None) or {}
        status = error.code or 500
        extra = {}
        errors = data.get("errors") or data.get("messages")
        if errors:
            extra["errors"] = _translated(errors)
            named = [name for fields in errors.values() if isinstance(fields, dict) for name in fields]
            if len(named) == 1:  # one field refused: named as a domain error names it
                extra["field"] = named[0]
        message = data.get("message") or _default_message(status)
        return error_response(status, STATUS_CODES.get(status, "error"), message, **extra)


class _InDateRange:
    """A date or datetime outside the range every date shares (app/dates.py) is refused with 422,
    the field named. A datetime is checked on the day it was written in, before any conversion
    (which could overflow at the calendar's ends)."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if result is not None and not in_range(result):
            raise ma.ValidationError(out_of_range_message())
        return result


class Date(_InDateRange, ma.fields.Date):
    pass


class DateTime(_InDateRange, ma.fields.DateTime):
    pass


class AwareDateTime(_InDateRange, ma.fields.AwareDateTime):
    pass


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


# marshmallow's and webargs' own messages, in English with their values filled in, and ours
# saying the same (`_translated`); a message not listed (a schema's own, already translated) stays.
VALIDATION_MESSAGES = {
    "Missing data for required field.": _l("This field is required."),
    "Field may not be null.": _l("This field needs a value."),
    "Invalid value.": _l("This value is not valid."),
    "Invalid input.": _l("This value is not valid."),
    "Not a valid string.": _l("Give a text."),
    "Not a valid integer.": _l("Give a whole number."),
    "Not a valid number.": _l("Give a number."),
    "Number too large.": _l("This number is too large."),
    "Not a valid boolean.": _l("Give true or false."),
    "Not a valid date.": _l("Give a date as YYYY-MM-DD."),
    "Not a valid datetime.": _l("Give a date and time (ISO 8601)."),
    "Not a valid email address.": _l("Give an email address."),
    "Not a valid URL.": _l("Give a web address."),
    "Not a valid list.": _l("Give a list."),
    "Invalid type.": _l("Give an object."),
    "Not a valid mapping type.": _l("Give an object."),
    "Invalid input type.": _l("Send a JSON object with the fields this request describes."),
    "Unknown field.": _l("This field is not part of this request."),
    "Invalid JSON body.": _l("The body is not valid JSON."),
}
VALIDATION_PATTERNS = [(re.compile(pattern), message) for pattern, message in (
    (r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.",
     _l("Give a value from %(min)s to %(max)s.")),
    (r"Must be greater than or equal to (?P<min>\S+)\.", _l("Give a value of at least %(min)s.")),
    (r"Must be less than or equal to (?P<max>\S+)\.", _l("Give a value of at most %(max)s.")),
    (r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.",
     _l("Give a text of %(min)s to %(max)s characters.")),
    (r"Shorter than minimum length (?P<min>\d+)\.", _l("Give a text of at least %(min)s characters.")),
    (r"Longer than maximum length (?P<max>\d+)\.", _l("Give a text of at most %(max)s characters.")),
    (r"Must be one of: (?P<choices>.+)\.", _l("Choose one of: %(choices)s.")),
)]


def _translated(errors):
    """Validation errors ({location: {field: [message, …]}}, nested as the schemas are) with
    marshmallow's English messages said in the request's language."""
    if isinstance(errors, dict):
        return {name: _translated(value) for name, value in errors.items()}
    if isinstance(errors, list):
        return [_translated(value) for value in errors]
    if not isinstance(errors, str):
        return errors
    if errors in VALIDATION_MESSAGES:
        return str(VALIDATION_MESSAGES[errors])
    for pattern, message in VALIDATION_PATTERNS:
        match = pattern.fullmatch(errors)
        if match:
            return str(message) % match.groupdict()
    return errors


# Text with half of a UTF-16 surrogate pair (as a \ud800 escape, or as its raw bytes: Python's
# JSON parser lets both through) is valid JSON but not Unicode: no database can store it.
LONE_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
MAX_NESTING = 100  # far beyond any body the API takes, far below what the parsers' recursion survives


def refuse_unreadable_json():
    """Before any view reads a JSON body, refuse one nested too deeply for the parsers (they
    recurse: webargs' would crash) or holding a lone surrogate. Only a scan of the raw bytes
    on the usual request (the redemption path is hot); the body is parsed here only when that
    scan finds many brackets or a surrogate."""
    if not request.is_json:
        return
    body = request.get_data(cache=True)
    deep = body.count(b"[") + body.count(b"{") > MAX_NESTING
    surrogate = (b"\\u" in body or b"\xed" in body) and LONE_SURROGATE_HINT.search(body)
    if not deep and not surrogate:
        return
    try:
        value = json.loads(body)
        too_deep = deep and _nesting(value) > MAX_NESTING
    except RecursionError:
        too_deep = True
    except ValueError:
        return  # not JSON at all: the view answers it as any malformed body
    if too_deep:
        api_abort(400, "bad_request", _("The JSON body is nested more than %(levels)s levels deep.",
                                        levels=MAX_NESTING))
    if surrogate:
        try:
            json.dumps(value, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            api_abort(400, "bad_request", _("The JSON body holds text that is not valid Unicode (a lone surrogate)."))


def _nesting(value) -> int:
    """How many arrays or objects deep the value goes."""
    levels, level = 0, [value]
    while level := [item for item in level if isinstance(item, (dict, list))]:
        levels += 1
        level = [child for item in level for child in (item.values() if isinstance(item, dict) else item)]
    return levels


def domain_error_response(error: DomainError):
    response = error_response(error.status, error.code, error.message,
                              **({"field": error.field} if error.field else {}))
    if getattr(error, "retry_after", None):  # a rate limit (429) says when to try again
        response.headers["Retry-After"] = str(error.retry_after)
    return response
