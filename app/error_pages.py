"""The HTML error pages: one template, a title per status, in the reader's language.
Below the API and the pages (both answer errors with it), so neither imports the other."""
from flask import render_template
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

ERROR_TITLES = {
    400: lambda: _("Bad request"),
    403: lambda: _("Not allowed"),
    404: lambda: _("Page not found"),
    405: lambda: _("Method not allowed"),
    409: lambda: _("This cannot be done now"),
    410: lambda: _("No longer available"),
    422: lambda: _("This cannot be done"),
    413: lambda: _("Upload too large"),
    429: lambda: _("Too many attempts"),
    500: lambda: _("Something went wrong"),
}


def html_error(error: HTTPException, message=None):
    status = error.code or 500
    title = ERROR_TITLES.get(status, ERROR_TITLES[500] if status >= 500 else ERROR_TITLES[400])()
    return render_template("error.html", status=status, title=title, message=message), status
