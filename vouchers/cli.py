"""`flask vouchers …` and `flask ledger verify`: programmes, bulk issuance,
settlement and expiry from scripts, and the auditor's check of the books."""
import csv
import functools
import os
import tempfile

import click
from flask.cli import AppGroup

from app.accounts.operations import find_user
from app.books.operations import verify_log
from app.cli import output_directory
from app.errors import DomainError
from app.progress import progress_bar

from . import closing, eligibility, figures, gifts, issuance, ledger, letters, programmes, sepa, settlement

vouchers_cli = AppGroup("vouchers", help="Social voucher programmes, issuance, settlement and expiry.")
programme_cli = AppGroup("programme", help="Voucher programmes.")
vouchers_cli.add_command(programme_cli)
eligibility_cli = AppGroup("eligibility", help="Programmes' eligibility lists (identifiers kept only as keyed hashes).")
vouchers_cli.add_command(eligibility_cli)
gifts_cli = AppGroup("gifts", help="Time gifts to an email held until an account takes it.")
vouchers_cli.add_command(gifts_cli)
ledger_cli = AppGroup("ledger", help="The voucher and time-credit ledger.")

ISO_DATE = click.DateTime(formats=["%Y-%m-%d"])


def refusals_fail(command):
    """A refused operation ends the command with its message and a non-zero exit."""
    @functools.wraps(command)
    def wrapped(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DomainError as error:
            raise click.ClickException(str(error)) from None
    return wrapped


def _actor(email):
    if not email:
        return None
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No account {email}")
    return user


@programme_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--budget", required=True, type=click.IntRange(min=1), help="Budget in cents.")
@click.option("--category", "categories", required=True, multiple=True, help="Service category slug (repeatable).")
@click.option("--valid-until", required=True, type=ISO_DATE)
@click.option("--valid-from", type=ISO_DATE, default=None)
@click.option("--eligibility", default="")
@click.option("--scale", default="", help="Income-adjusted scale, e.g. 1500000:20000,3000000:12000,*:6000")
@click.option("--actor", default=None, help="Email of the official responsible.")
@refusals_fail
def programme_create(slug, name, budget, categories, valid_until, valid_from, eligibility, scale, actor):
    """Open a programme with its budget (moved from the collective pool)."""
    programme = programmes.create_programme(slug, name, budget, list(categories), valid_until.date(),
                                            valid_from=valid_from.date() if valid_from else None,
                                            eligibility=eligibility, scale=programmes.parse_scale(scale),
                                            actor=_actor(actor))
    click.echo(f"Created programme {programme.slug}: budget {programme.budget_cents} cents, "
               f"categories {', '.join(programme.categories)}, valid until {programme.valid_until.isoformat()}")


@programme_cli.command("close")
@click.argument("slug")
@click.option("--actor", default=None, help="Email of the official responsible.")
@refusals_fail
def programme_close(slug, actor):
    """Close a programme: no more issuance; its unissued budget returns to the pool."""
    programme = programmes.programme_by_slug(slug)
    programmes.close_programme(programme, actor=_actor(actor))
    click.echo(f"Closed programme {programme.slug}")


@programme_cli.command("list")
@refusals_fail
def programme_list():
    """List programmes with their unissued budget."""
    for programme in programmes.programmes():
        click.echo(f"{programme.slug}\t{programme.status}\t{programme.budget_cents}\t"
                   f"{ledger.balance(programme.account)}\t{programme.valid_until.isoformat()}")


class _Bars:
    """The two progress bars of a batch run: rows read and checked, then vouchers written."""

    LABELS = {"check": "Checking rows", "issue": "Issuing vouchers"}

    def __init__(self, rows: int):
        self.rows, self.phase, self.bar = rows, None, None

    def __call__(self, phase: str, n: int, length: int | None) -> None:
        if phase != self.phase:
            self.close()
            self.phase = phase
            self.bar = click.progressbar(length=length or self.rows, label=self.LABELS[phase])
            self.bar.__enter__()
        self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _count_rows(path: str) -> int:
    """Lines after the header, counted at memory speed: only the length of the first bar."""
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)


def _codes_file(out: str):
    """(path, handle) of a new temporary file in --out's directory, where os.replace can move it onto
    --out in one step; a clear error, before anything is issued, if that directory cannot take it."""
    try:
        descriptor, path = tempfile.mkstemp(dir=output_directory(out), prefix=".issue-batch-", suffix=".csv")
    except OSError as error:
        raise click.ClickException(f"cannot write {out}: {error.strerror}") from None
    return path, open(descriptor, "w", newline="", encoding="utf-8")


@vouchers_cli.command("issue-batch")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--programme", "programme_slug", required=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Where to write holder_email,code,amount_cents (only once the batch is issued).")
@click.option("--skip-bad-rows", is_flag=True, help="Issue the good rows even if some rows are bad.")
@click.option("--unknown-holders", type=click.Choice(["ask", "invite", "leave-out"]), default="ask",
              show_default=True, help="Rows whose email no account has: ask (list them, issue nothing), invite "
                                      "(open their accounts and send each an invitation), leave-out (skip them).")
@click.option("--preview", is_flag=True, help="Check the file and list bad rows and emails without an account; "
                                              "issue nothing.")
@click.option("--actor", default=None, help="Email of the official responsible.")
@refusals_fail
def issue_batch(file, programme_slug, out, skip_bad_rows, unknown_holders, preview, actor):
    """Issue one voucher per row of FILE (holder_email,amount_cents,valid_until).

    The file is read once, never loaded whole: each row is checked and staged as it
    is read. With any bad row nothing is issued (unless --skip-bad-rows); every bad
    row is reported with its line number. No account is opened unless --unknown-holders
    invite says so."""
    programme = programmes.programme_by_slug(programme_slug)
    bars = _Bars(_count_rows(file))
    # The codes go to a temporary file beside --out, renamed onto it only once the batch is issued:
    # a refused run must leave the previous run's codes where they were.
    temporary, out_handle = _codes_file(out) if out else (None, None)
    try:
        writer = None
        if out_handle:
            writer = csv.writer(out_handle)
            writer.writerow(["holder_email", "code", "amount_cents"])
        with open(file, newline="", encoding="utf-8-sig") as lines:
            result = issuance.issue_batch(lines, programme, actor=_actor(actor), skip_bad_rows=skip_bad_rows,
                                          codes_out=writer, progress=bars,
                                          unknown_holders=unknown_holders.replace("-", "_"), preview=preview)
        if out_handle and not result.previewed:
            out_handle.close()
            kept, temporary = temporary, None  # issued: from here on the codes must not be deleted
            try:
                os.replace(kept, out)
            except OSError as error:
                raise click.ClickException(f"The vouchers were issued but {out} cannot be written "
                                           f"({error.strerror}): the codes are in {kept}.") from None
    except issuance.BatchRefused as refused:
        bars.close()
        for problem in refused.check.problems:
            click.echo(f"line {problem.line}: {problem.reason}", err=True)
        if refused.check.more_problems:
            click.echo(f"… and {refused.check.more_problems} more bad rows", err=True)
        raise click.ClickException(f"{refused.check.bad} of {refused.check.rows} rows are bad; "
                                   "nothing was issued.") from None
    except issuance.HoldersWithoutAccount as refused:
        bars.close()
        _echo_unknown(refused.check)
        raise click.ClickException(f"{refused.check.unknown} rows have an email no account has; nothing was "
                                   "issued. Correct them, or run again with --unknown-holders invite or "
                                   "leave-out.") from None
    except UnicodeDecodeError:
        raise click.ClickException(f"{file} is not UTF-8 text: save it as a UTF-8 CSV file; "
                                   "nothing was issued.") from None
    finally:
        bars.close()
        if out_handle:
            out_handle.close()
        if temporary:
            os.unlink(temporary)
    check = result.check
    for problem in check.problems:
        click.echo(f"line {problem.line}: {problem.reason}", err=True)
    if check.more_problems:
        click.echo(f"… and {check.more_problems} more bad rows", err=True)
    if result.previewed:
        _echo_unknown(check)
        click.echo(f"Preview, nothing issued: {check.good} good rows ({check.total_cents} cents; the programme has "
                   f"{check.available_cents} left), {check.bad} bad rows, {check.unknown} emails without an account.")
        return
    click.echo(f"Issued {result.issued} vouchers ({result.total_cents} cents) from {programme.slug}; "
               f"{result.new_holders} new citizen accounts invited; {check.bad} rows skipped; "
               f"{result.left_out} rows left out (no account).")


def _echo_unknown(check) -> None:
    for row in check.unknown_rows:
        click.echo(f"line {row.line}: no account has {row.reason}", err=True)
    if check.unknown > len(check.unknown_rows):
        click.echo(f"… and {check.unknown - len(check.unknown_rows)} more emails without an account", err=True)


@eligibility_cli.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--programme", "programme_slug", required=True)
@click.option("--dry-run", is_flag=True, help="Check the list and report, without keeping it.")
@click.option("--actor", default=None, help="Email of the official responsible.")
@refusals_fail
def eligibility_load(file, programme_slug, dry_run, actor):
    """Load FILE (identifier,birth_date,income_cents,email,postal_address,language) as the programme's
    eligibility list: one line per refused row, then the counts."""
    programme = programmes.programme_by_slug(programme_slug)
    try:
        with open(file, newline="", encoding="utf-8-sig") as lines:
            check = eligibility.load_list(lines, programme, actor=_actor(actor), dry_run=dry_run)
    except UnicodeDecodeError:
        raise click.ClickException(f"{file} is not UTF-8 text: save it as a UTF-8 CSV file.") from None
    for refusal in check.refusals:
        click.echo(f"line {refusal.line}: {refusal.reason}")
    if check.more_refused:
        click.echo(f"… and {check.more_refused} more refused rows")
    click.echo(f"checked {check.checked}, eligible {check.eligible}, refused {check.refused}")


@eligibility_cli.command("issue")
@click.option("--programme", "programme_slug", required=True)
@click.option("--actor", default=None, help="Email of the official responsible.")
@refusals_fail
def eligibility_issue(programme_slug, actor):
    """Issue the programme's voucher to every verified resident on its list who has not had it."""
    programme = programmes.programme_by_slug(programme_slug)
    click.echo(f"Issued {eligibility.issue_to_verified(programme, actor=_actor(actor))} vouchers "
               f"to verified residents from {programme.slug}")


@vouchers_cli.command("settle")
@click.option("--from", "start", required=True, type=ISO_DATE)
@click.option("--to", "end", required=True, type=ISO_DATE)
@click.option("--actor", default=None)
@refusals_fail
def settle(start, end, actor):
    """Settle a period: pay each organisation from the pool what it redeemed."""
    cleared, created = settlement.settle(start.date(), end.date(), actor=_actor(actor))
    verb = "Settled" if created else "Already settled"
    click.echo(f"{verb} {cleared.period_start.isoformat()}..{cleared.period_end.isoformat()}: "
               f"{cleared.total_cents} cents to {len(cleared.lines)} organisations")
    for line in cleared.lines:
        click.echo(f"  {line.organisation.slug}\t{line.redemptions}\t{line.amount_cents}")


@vouchers_cli.command("settlement-file")
@click.argument("settlement_id", type=int)
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Where to write the pain.001 XML file.")
@click.option("--actor", default=None)
@refusals_fail
def settlement_file(settlement_id, out, actor):
    """Write a settlement's SEPA credit transfer (pain.001): made once, the same bytes every time."""
    content = sepa.settlement_file(settlement_id, actor=_actor(actor))
    with open(out, "wb") as target:
        target.write(content)
    click.echo(f"Wrote {out} ({len(content)} bytes)")


@vouchers_cli.command("expire")
@click.option("--on", type=ISO_DATE, default=None, help="Expire what ended before this day (default today).")
@click.option("--actor", default=None)
@refusals_fail
def expire(on, actor):
    """Expire vouchers past their validity; what remains returns to each programme."""
    day = on.date() if on else None
    with progress_bar(lambda: closing.due_for_expiry(day), "Expiring vouchers") as advance:
        count, returned = closing.expire_vouchers(actor=_actor(actor), on=day, progress=advance)
    click.echo(f"Expired {count} vouchers; {returned} cents returned to their programmes.")


@gifts_cli.command("expire")
@refusals_fail
def gifts_expire():
    """Give back to their givers the time gifts no account took within PROCOMUN_GIFT_HOLD_DAYS
    (nightly, beside `vouchers expire`; running it again moves nothing twice)."""
    count, minutes = gifts.return_unclaimed()
    click.echo(f"Returned {count} time gifts; {minutes} minutes back to their givers.")


@ledger_cli.command("verify")
@refusals_fail
def verify():
    """Recompute every balance from the transfers and check the ledger's invariants (exit 1 if broken)."""
    report = ledger.verify()
    click.echo(f"{report.accounts} accounts, {report.transfers} transfers; "
               + ", ".join(f"{c}: {t}" for c, t in sorted(report.totals.items())))
    books = verify_log("ledger")
    if not books.ok:
        report.problems.append(f"the ledger was ALTERED since the last signed checkpoint: {books.problem}")
    if not report.ok:
        for problem in report.problems:
            click.echo(f"PROBLEM {problem}", err=True)
        raise SystemExit(1)
    click.echo("The ledger is consistent.")
    if books.checkpoint is not None:
        click.echo(f"The {books.checked} transfers of checkpoint {books.checkpoint.id} "
                   f"({books.checkpoint.at.isoformat()}) match the signed tree head.")


@ledger_cli.command("rebuild-figures")
@refusals_fail
def rebuild_figures():
    """Recompute the public figures' running sums from every transfer (after loading data beside the app)."""
    click.echo(f"{figures.rebuild()} rows of running sums written.")


@ledger_cli.command("reverse")
@click.argument("transfer_id", type=int)
@click.option("--reason", required=True)
@click.option("--actor", required=True, help="Email of the official responsible.")
@refusals_fail
def reverse(transfer_id, reason, actor):
    """Correct a mistaken transfer with a reversing one (the original is never changed)."""
    new_id = ledger.reverse(transfer_id, actor=_actor(actor), reason=reason)
    click.echo(f"Transfer #{transfer_id} reversed by #{new_id}")


COMMANDS = [vouchers_cli, ledger_cli]


@vouchers_cli.command("letters")
@click.option("--programme", "slug", required=True, help="The programme's slug.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The PDF to write: one letter per page.")
@click.option("--actor", default=None, help="Email of the official responsible.")
@refusals_fail
def letters_command(slug, out, actor):
    """Print the letters of a programme's holders without an email (issuing those not yet issued).
    Each printed letter gets a fresh activation code: the one on an earlier print stops working."""
    programme = programmes.programme_by_slug(slug)
    partial = f"{out}.partial"
    try:
        with open(partial, "wb") as handle:
            printed, issued = letters.print_letters(programme, handle, actor=_actor(actor))
        os.replace(partial, out)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    if issued.over_budget:
        click.echo(f"{issued.over_budget} people on the list got no letter: the programme's budget ran out", err=True)
    click.echo(f"{printed} letters written to {out}")
