"""CSV exports stream after the view has returned: their rows must still see the app."""
from flask import Flask, current_app

from app.opendata import csv_response


def test_csv_rows_are_read_inside_the_request_context():
    # A bare app and no pushed context, as under gunicorn: the rows generator runs while
    # the body is sent, and needs current_app (the database session) until the last row.
    app = Flask("stream")

    @app.route("/export.csv")
    def export():
        return csv_response(["app"], ([current_app.name] for _ in range(3)), "export.csv")

    answer = app.test_client().get("/export.csv")
    assert answer.status_code == 200
    assert answer.get_data(as_text=True).splitlines() == ["\ufeffapp", "stream", "stream", "stream"]
