"""What every open-data export shares: one URL space (/open-data/…), the list
of datasets shown on /open-data, and streamed CSV output."""
import csv
import io
from dataclasses import dataclass

from flask import Response, stream_with_context

from .security import public


@dataclass(frozen=True)
class Dataset:
    title: object          # a lazy translated string
    endpoint: str
    format: str            # "JSON", "CSV", "GeoJSON", "OCDS JSON", "Popolo JSON"…
    description: object = ""


class OpenData:
    """A module's open-data files. Declared in its opendata.py as

        opendata = OpenData("pacts")

        @opendata.route("/pacts.json", _l("Collaboration pacts"), "JSON")
        def pacts_json(): ...

    and served at /open-data/pacts.json under the endpoint "pacts.pacts_json",
    listed on the open-data page. Always public."""

    def __init__(self, name: str):
        self.name = name
        self.routes: list[tuple[str, object]] = []
        self.datasets: list[Dataset] = []

    def route(self, rule: str, title=None, format: str = "JSON", description=""):
        def decorator(view):
            public(view)
            self.routes.append((rule, view))
            if title is not None:
                self.datasets.append(Dataset(title, f"{self.name}.{view.__name__}", format, description))
            return view
        return decorator

    def register(self, app) -> None:
        for rule, view in self.routes:
            app.add_url_rule("/open-data" + rule, endpoint=f"{self.name}.{view.__name__}", view_func=view)


def csv_response(header: list[str], rows, filename: str) -> Response:
    """Stream rows as UTF-8 CSV, so an export never has to fit in memory."""
    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        yield "\ufeff" + buffer.getvalue()
        for row in rows:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(row)
            yield buffer.getvalue()
    # The rows are read while the body streams, after the view returned: keep the request's
    # app context (and its database session) alive until the last row.
    return Response(stream_with_context(generate()), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
