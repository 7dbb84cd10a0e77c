"""Benchmark 9: letters by post for 100,000 people without an email (QUICK 200), PostgreSQL only.

The list is loaded through its CLI (not timed); then `flask vouchers letters` runs twice in a child
process of its own (time and peak RSS): first issuing every letter's voucher and printing the lot,
then printing them again (fresh activation codes, nothing issued). Beside it, in the same run:
WeasyPrint alone laying out and writing the same letters (the app's own template, batches of the
same size, each PDF thrown away: the floor no design printing through WeasyPrint goes under), in a
child process of its own too. Bounded memory shows as the same peak at a tenth of the letters."""
import tempfile
import textwrap
from pathlib import Path

from pypdf import PdfReader

from . import common

FLOOR = textwrap.dedent("""\
    import sys, time
    from datetime import date
    from types import SimpleNamespace
    from weasyprint import HTML
    from app import create_app
    from app.documents import weasyprint_arguments
    from vouchers import codes, letter_documents
    from vouchers.letters import PRINT_BATCH
    letters = int(sys.argv[1])
    app = create_app()
    with app.app_context():
        # No offline allowance, as the programme the app prints for: the QR code carries the code alone.
        programme = SimpleNamespace(name="Letters", categories=["elder-care"], offline_allowance_cents=0)
        started, done = time.perf_counter(), 0
        html_arguments, pdf_arguments = weasyprint_arguments()
        while done < letters:
            size = min(PRINT_BATCH, letters - done)
            parts = []
            for n, (code, activation) in enumerate(zip(codes.new_codes(size), codes.new_codes(size))):
                voucher = SimpleNamespace(code=code, value_cents=5000, valid_until=date(2099, 12, 31),
                                          programme=programme)
                letter = SimpleNamespace(id=done + n + 1, voucher=voucher, language=("it", "es", "ca", "en")[n % 4],
                                         postal_address=f"Via Roma {done + n}, Villanova")
                parts.append(letter_documents.letter_html(letter, activation))
            html = letter_documents.batch_html(parts)
            HTML(string=html, **html_arguments).write_pdf(**pdf_arguments)
            done += size
        print(time.perf_counter() - started)
    """)


def write_list(path: Path, rows: int) -> None:
    """Everyone with a postal address and no email, in the four languages."""
    with open(path, "w") as handle:
        handle.write("identifier,birth_date,income_cents,email,postal_address,language\n")
        for start in range(0, rows, 10_000):
            handle.writelines(f"ID{n:08d}X,1950-01-{n % 28 + 1:02d},{n * 7 % 4_000_000},,"
                              f"\"Via Roma {n}, Villanova\",{('it', 'es', 'ca', 'en')[n % 4]}\n"
                              for n in range(start, min(start + 10_000, rows)))


def _app_run(letters: int, tmp: Path) -> dict:
    common.reset_database()
    common.flask("seed")
    common.flask("vouchers", "programme", "create", "letters", "--name", "Letters", "--budget",
                 str(letters * 5000), "--category", "elder-care", "--valid-until", "2099-12-31",
                 "--scale", "*:5000")
    path = tmp / "list.csv"
    write_list(path, letters)
    common.flask("vouchers", "eligibility", "load", str(path), "--programme", "letters")
    common.checkpoint()
    out = tmp / "letters.pdf"
    first, first_s, first_rss = common.flask("vouchers", "letters", "--programme", "letters", "--out", str(out),
                                             timed=True)
    again, again_s, again_rss = common.flask("vouchers", "letters", "--programme", "letters", "--out", str(out),
                                             timed=True)
    pages = len(PdfReader(out).pages)
    size_mb = round(out.stat().st_size / 2**20, 1)
    return {"letters": letters, "pages": pages, "pdf_mb": size_mb,
            "issue_and_print_seconds": round(first_s, 2), "issue_and_print_peak_rss_mb": first_rss,
            "print_seconds": round(again_s, 2), "print_peak_rss_mb": again_rss,
            "letters_per_second": round(letters / again_s, 1),
            "failed_checks": [f"{pages} pages for {letters} letters"] if pages != letters else []}


def _floor(letters: int) -> dict:
    done, seconds, rss = common.timed_run([str(common.BIN / "python"), "-c", FLOOR, str(letters)],
                                          cwd=common.ROOT, env=common.env())
    if done.returncode != 0:
        raise RuntimeError(f"floor failed:\n{done.stdout}\n{done.stderr}")
    return {"letters": letters, "seconds": round(float(done.stdout.strip().splitlines()[-1]), 2),
            "peak_rss_mb": rss}


def run() -> dict:
    letters = 200 if common.QUICK else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        small = _app_run(letters // 10, Path(tmp))
        app = _app_run(letters, Path(tmp))
    floor = _floor(letters)
    return {**app, "tenth": small, "weasyprint_alone": floor,
            "ratio_floor_time_over_print_time": round(floor["seconds"] / app["print_seconds"], 3),
            "ratio_peak_rss_over_tenth": round(app["print_peak_rss_mb"] / small["print_peak_rss_mb"], 2),
            "failed_checks": app["failed_checks"] + small["failed_checks"]}
