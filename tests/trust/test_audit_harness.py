"""Every state change in the modules leaves an audit entry.

The harness wraps every public function of each module's operation files (its
operations.py, or the files it was split into: every file but the rooms that hold
no rules) and,
around each outermost call, diffs the audit log and the rows of the module's
tables: a call that changed rows must have added audit entries in the same
call. The demo city (which drives each module's operations through their
whole life: pacts signed, councils voting, tenders awarded, vouchers redeemed
and settled) and the form fuzzer's accepted posts are the workload."""
import functools
import importlib
import inspect
import pkgutil

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.config import MODULES
from app.extensions import db

from .crawl import load_demo

# Rows that are not official records: caches and idempotency keys a call may write
# without a state change of its own (each is the by-product of an audited call).
NOT_STATE = {"voucher_idempotency_keys",
             # the public figures' running sums: derived from the ledger, checked by `ledger verify`
             "voucher_book_figures", "voucher_account_flows", "voucher_programme_counts"}
# Redemptions, whose record is the vouchers ledger itself: each writes one append-only transfer
# (actor, time, amount, accounts) that `ledger verify` checks, and no audit entry, by design: the
# audit chain's lock would serialise every redemption of the city (tests/vouchers/test_redemption.py
# guards the hot path against it). Everything else, time credits included (issue #17), is audited.
LEDGER_JOURNALLED = {"vouchers.redemption.redeem": {"voucher_transfers", "voucher_accounts", "voucher_redemptions"}}
# The files of a module that hold no rules of their own (DEVELOPERS.md, "How a module plugs in").
ROOMS = {"__init__", "models", "views", "api", "forms", "cli", "demo", "events", "opendata", "documents"}


PREFIXES = {"pacts": ("pact", "commons"), "councils": ("council",), "procurement": ("procurement",),
            "vouchers": ("voucher",), "accountability": ("accountability",)}


def _module_tables(name):
    return [t for t in db.metadata.sorted_tables if t.name.startswith(PREFIXES[name])]


def operation_files(name):
    package = importlib.import_module(name)
    return [importlib.import_module(f"{name}.{found.name}") for found in pkgutil.iter_modules(package.__path__)
            if found.name not in ROOMS]


def _counts(tables):
    return {t.name: db.session.execute(select(func.count()).select_from(t)).scalar() for t in tables}


@pytest.fixture
def harness(app, monkeypatch):
    calls, problems, depth = {}, [], [0]
    for name, operations in ((name, file) for name in MODULES for file in operation_files(name)):
        tables = _module_tables(name)
        for attr, function in inspect.getmembers(operations, inspect.isfunction):
            if attr.startswith("_") or function.__module__ != operations.__name__:
                continue

            def wrap(function=function, name=name, tables=tables, qualified=f"{operations.__name__}.{attr}"):
                @functools.wraps(function)
                def audited(*args, **kwargs):
                    if depth[0]:  # only the outermost call: nested ones share its transaction
                        return function(*args, **kwargs)
                    before = _counts(tables)
                    audit = db.session.execute(select(func.max(AuditEntry.id))).scalar() or 0
                    depth[0] += 1
                    try:
                        result = function(*args, **kwargs)
                    finally:
                        depth[0] -= 1
                    after = _counts(tables)
                    changed = {t for t in after if after[t] != before[t] and t not in NOT_STATE}
                    entries = db.session.execute(
                        select(func.count()).select_from(AuditEntry).where(AuditEntry.id > audit)).scalar()
                    calls[qualified] = calls.get(qualified, 0) + 1
                    if changed and not entries and not changed <= LEDGER_JOURNALLED.get(qualified, set()):
                        problems.append(f"{qualified} changed {sorted(changed)} without an audit entry")
                    return result
                return audited
            monkeypatch.setattr(operations, attr, wrap())
            # Modules call each other's operations through the file's module object, and their own
            # views and demo through `ops.<name>` or `<file>.<name>`: all now reach the wrapper.
    return calls, problems


def test_every_state_change_of_the_demo_city_is_audited(app, harness, capsys):
    calls, problems = harness
    load_demo(app)
    assert not problems, "\n".join(problems)
    modules_seen = {name.split(".")[0] for name in calls}
    assert modules_seen == set(MODULES), modules_seen
    with capsys.disabled():
        print(f"\naudit harness: {len(calls)} operations called {sum(calls.values())} times, all audited")


def test_every_state_change_through_the_forms_is_audited(app, harness):
    """The fuzzer's accepted posts reach operations through the views: each is audited too."""
    from .test_fuzz_forms import run_fuzz
    calls, problems = harness
    run_fuzz(app, 2)
    assert not problems, "\n".join(problems)
