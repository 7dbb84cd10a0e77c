"""The import, from the command line and from the web: what the export writes is read back, a
preview shows every change and writes nothing, the confirmation writes all in one go."""
import csv
import io
import time

from sqlalchemy import func, insert, select

from accountability import exchange
from accountability.models import Result
from app.database import transaction
from app.extensions import db
from procurement.models import SocialCommitment

from ..conftest import login, post_form


def _edited(status="delivered", progress="100"):
    rows = list(csv.DictReader(io.StringIO(exchange.export_csv())))
    rows[0].update(status=status, progress=progress, source="set", justification="Checked on site")
    out = io.StringIO()
    writer = csv.DictWriter(out, exchange.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue(), len(rows)


def _results() -> int:
    return db.session.execute(select(func.count()).select_from(Result)).scalar()


def test_the_command_reads_the_export_and_ends_with_the_counts(app, chain, tmp_path):
    path = tmp_path / "results.csv"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["accountability", "export", str(path)]).exit_code == 0
    answer = runner.invoke(args=["accountability", "import", str(path)])
    rows = len(path.read_text().splitlines()) - 1
    assert answer.exit_code == 0
    assert answer.output.strip().splitlines()[-1] == f"created 0, updated 0, unchanged {rows}, refused 0"
    text, rows = _edited()
    path.write_text(text)
    answer = runner.invoke(args=["accountability", "import", str(path), "--dry-run"])
    assert answer.output.strip().splitlines()[-1] == f"created 1, updated 0, unchanged {rows - 1}, refused 0"
    assert _results() == 0
    answer = runner.invoke(args=["accountability", "import", str(path)])
    assert answer.output.strip().splitlines()[-1] == f"created 1, updated 0, unchanged {rows - 1}, refused 0"
    assert _results() == 1
    path.write_text(text.replace("Checked on site", "Checked again"))
    answer = runner.invoke(args=["accountability", "import", str(path)])
    assert answer.output.strip().splitlines()[-1] == f"created 0, updated 1, unchanged {rows - 1}, refused 0"
    path.write_text(_edited(progress="120")[0])
    answer = runner.invoke(args=["accountability", "import", str(path)])
    assert answer.exit_code == 1 and "line 2:" in answer.output
    assert answer.output.strip().splitlines()[-1].endswith("refused 1")


def test_the_web_import_previews_then_writes_on_confirmation(client, chain, city):
    login(client, city.official.email)
    text, rows = _edited()
    page = post_form(client, "/accountability/import",
                     {"file": (io.BytesIO(text.encode()), "results.csv")}, content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Checked on site" in html and "Write these changes" in html
    assert _results() == 0
    answer = post_form(client, "/accountability/import", {"content": text, "confirm": "1"})
    assert answer.status_code == 302 and _results() == 1
    bad = text.replace("Checked on site", "")
    html = post_form(client, "/accountability/import", {"file": (io.BytesIO(bad.encode()), "r.csv")},
                     content_type="multipart/form-data").get_data(as_text=True)
    assert "need a justification" in html and "Write these changes" not in html


def test_ten_thousand_rows_in_seconds(chain):
    """10,000 contract commitments, all set by hand in one file: planned and written set-based."""
    contract = chain.process.contract
    with transaction():
        db.session.execute(insert(SocialCommitment), [
            {"contract_id": contract.id, "kind": "social_inclusion", "description": f"Commitment {n}",
             "target_quantity": 1, "due_on": contract.period_end, "status": "pending", "note": ""}
            for n in range(10_000)])
    rows = [r for r in csv.DictReader(io.StringIO(exchange.export_csv())) if r["kind"] == "commitment"]
    assert len(rows) > 10_000
    for row in rows:
        row.update(status="in_progress", progress="50", source="set", justification="Half the hires made")
    out = io.StringIO()
    writer = csv.DictWriter(out, exchange.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    started = time.monotonic()
    plan = exchange.import_csv(out.getvalue())
    assert time.monotonic() - started < 30
    assert plan.summary() == f"created {len(rows)}, updated 0, unchanged 0, refused 0"
    assert _results() == len(rows)
    started = time.monotonic()
    assert exchange.import_csv(exchange.export_csv()).count("unchanged") == len(rows) + 1
    assert time.monotonic() - started < 30
