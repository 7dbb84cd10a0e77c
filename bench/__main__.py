"""`make bench`: every benchmark beside the limit of the layer underneath, in one
run; figures to bench/results.json and a short table on stdout.

`BENCH_QUICK=1` runs a small version; `python -m bench redemption pages` runs
only the named benchmarks (redemption, issuance, pages, documents, books, eligibility, chain, daily, letters)."""
import json
import os
import sys
import time
import traceback

from . import common, history, machine

BENCHMARKS = ("redemption", "issuance", "pages", "documents", "books", "eligibility", "chain", "daily", "letters")
RESULTS = common.ROOT / "bench" / "results.json"


def _table(results: dict) -> list[str]:
    rows = []
    r = results.get("redemption")
    if r and "app" in r:
        rows += [
            f"redemption  app {r['app']['per_second']:>8}/s  p50 {r['app']['p50_ms']} p95 {r['app']['p95_ms']} "
            f"p99 {r['app']['p99_ms']} ms  errors {r['app']['errors']}  ({r['app']['worker_class']} "
            f"w{r['app']['workers']} t{r['app']['threads']})",
            f"            least app {r['least_app']['per_second']}/s (errors {r['least_app']['errors']})  "
            f"pgbench {r['pgbench']['per_second']}/s  "
            f"app/least {r['ratio_app_least']}  app/pgbench {r['ratio_app_pgbench']}  "
            f"ledger ok {r['books']['ledger_verified']}  over-redeemed {r['books']['over_redeemed_vouchers']}"]
        rows += _baseline_rows("", r)
        q = r.get("sqlite")
        if q and "app" in q:
            rows.append(f"  sqlite    app {q['app']['per_second']}/s  p95 {q['app']['p95_ms']} ms  errors "
                        f"{q['app']['errors']}  least app {q['least_app']['per_second']}/s "
                        f"(errors {q['least_app']['errors']})  app/least "
                        f"{q['ratio_app_least']}  ledger ok {q['books']['ledger_verified']}  over-redeemed "
                        f"{q['books']['over_redeemed_vouchers']}")
            rows += _baseline_rows("  sqlite  ", q)
    i = results.get("issuance")
    if i and "seconds" in i:
        rows.append(f"issuance    {i['rows']} rows in {i['seconds']} s ({i['rows_per_second']}/s), peak "
                    f"{i['peak_rss_mb']} MB; COPY {i['copy_seconds']} s; "
                    f"COPY/app {i['ratio_copy_time_over_app_time']}; "
                    f"COPY of its codes: bare {i['copy_codes_bare_seconds']} s, with the unique code index "
                    f"{i['copy_codes_unique_code_seconds']} s, with one foreign key "
                    f"{i.get('copy_codes_one_foreign_key_seconds')} s")
        q = i.get("sqlite")
        if q:
            rows.append(f"  sqlite    {q['rows']} rows in {q['seconds']} s ({q['rows_per_second']}/s), peak "
                        f"{q['peak_rss_mb']} MB; executemany {q['executemany_seconds']} s"
                        + (f", .import {q['shell_import_seconds']} s" if "shell_import_seconds" in q else "")
                        + f"; floor/app {q['ratio_floor_time_over_app_time']}")
    e = results.get("eligibility")
    if e and "seconds" in e:
        rows.append(f"eligibility {e['rows']} rows in {e['seconds']} s ({e['rows_per_second']}/s), peak "
                    f"{e['peak_rss_mb']} MB; COPY {e['copy_seconds']} s; COPY/app {e['ratio_copy_time_over_app_time']}")
        if "apply_seconds" in e:
            rows.append(f"  applied to {e['rows']} verified residents in {e['apply_seconds']} s "
                        f"({e['apply_rows_per_second']}/s), peak {e['apply_peak_rss_mb']} MB; bare INSERT … SELECT "
                        f"{e['apply_floor_seconds']} s; floor/app {e['ratio_floor_time_over_apply_time']}")
    lt = results.get("letters")
    if lt and "print_seconds" in lt:
        rows.append(f"letters     {lt['letters']} letters: issued and printed in {lt['issue_and_print_seconds']} s "
                    f"(peak {lt['issue_and_print_peak_rss_mb']} MB), printed again in {lt['print_seconds']} s "
                    f"({lt['letters_per_second']}/s, peak {lt['print_peak_rss_mb']} MB, a tenth of them "
                    f"{lt['tenth']['print_peak_rss_mb']} MB); WeasyPrint alone {lt['weasyprint_alone']['seconds']} s "
                    f"(peak {lt['weasyprint_alone']['peak_rss_mb']} MB); floor/app "
                    f"{lt['ratio_floor_time_over_print_time']}")
    p = results.get("pages")
    for label, figures in (("page", p), ("page/sqlite", (p or {}).get("sqlite"))):
        if not figures or "pages" not in figures:
            continue
        for name, page in figures["pages"].items():
            at = {scale: page[str(scale)] for scale in figures["scales"]}
            rows.append(f"{label:<11} {name:<22} " + "  ".join(
                f"N={scale}: p50 {at[scale]['p50_ms']} p95 {at[scale]['p95_ms']} ms"
                + (f" (4 clients p95 {at[scale]['per_core']['p95_ms']})" if "per_core" in at[scale] else "")
                + f", service {at[scale].get('service_ms')} ms, {at[scale]['statements']} stmts"
                for scale in figures["scales"]) + f"  growth {page['growth_p95']}")
    c = results.get("chain")
    for key in ("postgresql", "sqlite"):
        figures = (c or {}).get(key)
        if not figures:
            continue
        at = {n: figures[str(n)] for n in c["scales"]}
        rows.append(f"{'chain/' + key:<22} " + "  ".join(
            f"N={n} ({at[n]['linked']} rows): p50 {at[n]['p50_ms']} p95 {at[n]['p95_ms']} ms"
            f" (4 clients p95 {at[n]['per_core']['p95_ms']}), service {at[n]['service_ms']} ms, "
            f"{at[n]['statements']} stmts" for n in c["scales"]) + f"  growth {figures['growth_p95']}")
    d = results.get("documents")
    for label, figures in (("document", d), ("doc/sqlite", (d or {}).get("sqlite"))):
        if not figures or "pact" not in figures:
            continue
        for name in ("pact", "minutes"):
            rows.append(f"{label:<11} {name:<8} app {figures[name]['app_ms']} ms  weasyprint "
                        f"{figures[name]['weasyprint_ms']} ms  overhead {figures[name]['overhead']}")
    b = results.get("books")
    for label, figures in (("books", b), ("books/sqlite", (b or {}).get("sqlite"))):
        if not figures or "checkpoint_s" not in figures:
            continue
        rows.append(f"{label:<11} checkpoint of {figures['new_transfers']} transfers {figures['checkpoint_s']} s, "
                    f"peak {figures['checkpoint_peak_mb']} MB; floor {figures['floor']['floor_s']} s; "
                    f"floor/app {figures['ratio_floor_over_checkpoint']}")
        for size, proofs in figures["proofs"].items():
            rows.append(f"{'':<11} proofs at {size} leaves: inclusion p95 {proofs['inclusion']['p95_ms']} ms "
                        f"({proofs['inclusion']['statements']} stmts), consistency p95 "
                        f"{proofs['consistency']['p95_ms']} ms ({proofs['consistency']['statements']} stmts); "
                        f"bare node SELECT p95 {proofs['bare_select']['p95_ms']} ms")
    d = results.get("daily")
    if d and "jobs" in d:
        rows.append(f"daily       {d['holders']} holders, {d['transfers']} transfers, {d['coops']} co-ops")
        for job in d["jobs"]:
            rows.append(f"  {job['job']:<26} {job['seconds']:>8} s  floor {job['floor_seconds']:>7} s  ratio "
                        f"{job['ratio']}  peak {job['peak_rss_mb']} MB"
                        + (f"  {job['messages_per_second']} msg/s" if "messages_per_second" in job else "")
                        + ("" if job["within_target"] else "  OVER TARGET"))
        rows += history.table_rows(d.get("history_pages"))
    for name in BENCHMARKS:
        if name in results and "error" in results[name]:
            rows.append(f"{name:<11} FAILED: {results[name]['error']}")
    return rows


def _baseline_rows(label: str, r: dict) -> list[str]:
    """The app as it was at the baseline commit, measured in the same slices: or why it was not."""
    b = r.get("baseline") or {}
    if "per_second" not in b:
        return [f"{label:<12}baseline {b.get('commit', '')[:12]} skipped: {b.get('skipped', 'not measured')}"]
    return [f"{label:<12}baseline {b['commit'][:12]} {b['per_second']}/s  p50 {b['p50_ms']} p95 {b['p95_ms']} "
            f"p99 {b['p99_ms']} ms  errors {b['errors']}  app/baseline {r['ratio_app_baseline']}  "
            f"(app/least {r['ratio_app_least']})  ledger ok {b['books']['ledger_verified']}  over-redeemed "
            f"{b['books']['over_redeemed_vouchers']}"
            + (f"  [{b['note']}; app beside it {b['app_beside']['per_second']}/s]" if "app_beside" in b else "")]


def main(argv: list[str]) -> int:
    chosen = [a for a in argv if a in BENCHMARKS] or list(BENCHMARKS)
    os.environ.update(common.env())
    results = {"machine": machine.facts(), "quick": common.QUICK, "database": common.libpq_url().rsplit("@", 1)[-1]}
    if RESULTS.exists() and len(chosen) < len(BENCHMARKS):
        # A partial run keeps the other benchmarks' latest figures.
        previous = json.loads(RESULTS.read_text())
        results.update({k: v for k, v in previous.items() if k in BENCHMARKS and k not in chosen})
    failed = False
    started = time.perf_counter()
    for name in chosen:
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        try:
            module = __import__(f"bench.{name}", fromlist=["run"])
            results[name] = module.run()
            failed |= bool(results[name].get("failed_checks"))
        except Exception as error:  # a broken benchmark is reported, and fails the run
            traceback.print_exc()
            results[name] = {"error": f"{type(error).__name__}: {error}"}
            failed = True
        results[name]["elapsed_s"] = round(time.perf_counter() - t0, 1)
        RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print("\n".join(_table(results)))
    print(f"({results['elapsed_s']} s; figures in {RESULTS.relative_to(common.ROOT)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
