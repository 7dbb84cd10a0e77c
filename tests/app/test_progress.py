"""Long jobs draw a progress bar on a terminal and nothing under cron (issue #25)."""
import io

from app.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_bar_is_drawn_on_a_terminal():
    stream = Terminal()
    with progress_bar(10, "Expiring vouchers", stream=stream) as advance:
        for _ in range(10):
            advance(1)
    assert "Expiring vouchers" in stream.getvalue() and "100%" in stream.getvalue()


def test_nothing_is_written_when_the_output_is_not_a_terminal():
    stream = io.StringIO()  # cron's mail, a pipe, a log file
    with progress_bar(10, "Expiring vouchers", stream=stream) as advance:
        advance(5)
        advance()
    assert stream.getvalue() == ""


def test_the_jobs_print_only_their_result_under_cron(app):
    runner = app.test_cli_runner()  # neither stdout nor stderr is a terminal
    for args, label in ((["vouchers", "expire"], "Expiring"), (["outbox", "digest", "--now"], "Grouping"),
                        (["audit", "verify"], "Verifying")):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        assert label not in result.output and "%" not in result.output


def test_a_counted_length_is_counted_only_for_a_bar_drawn():
    counted = []

    def count():
        counted.append(1)
        return 4
    with progress_bar(count, "Verifying the audit trail", stream=io.StringIO()) as advance:
        advance(4)
    assert counted == []  # under cron the million-row count is never run
    stream = Terminal()
    with progress_bar(count, "Verifying the audit trail", stream=stream) as advance:
        advance(4)
    assert counted == [1] and "100%" in stream.getvalue()
