from datetime import date

from app.i18n import city_today
from councils import terms


def test_cli_prints_the_rotation_and_the_warnings(app, full_council, official):
    council, members = full_council(start=date(2020, 1, 1), first="civil")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["councils", "schedule", council.slug, "--terms", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    current = terms.term_on(council, city_today())
    assert len(lines) == 3 and lines[0].startswith(f"term {current.number:>3}")
    assert ("  chair: civil" in lines[0]) is (current.number % 2 == 1)
    result = runner.invoke(args=["councils", "warnings"])
    assert f"{council.slug}: [error] Term {current.number} has no Chair" in result.output
