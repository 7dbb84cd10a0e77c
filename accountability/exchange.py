"""The results as CSV (and JSON), and the import that reads exactly what the export writes.

Columns: id, kind, title, url, status, progress, source, justification, links. `title` and `url`
are read-only; `source` is `computed` (status and progress from the linked records) or `set` (by an
official, with a justification); `links` is space-separated `kind:stable-id`, of which only the
`programme:` and `pact:` links of a need are kept here (the others are recorded by their own
records and must be left as exported).

The import checks every row before writing anything, then writes all changes in one transaction,
set-based (one statement per kind of change), so 10,000 rows take seconds."""
import csv
import io
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, insert, select, update

from app.audit.operations import record
from app.database import transaction, utcnow
from app.extensions import db
from app.urls import external_url
from pacts.models import Pact
from vouchers.models import Programme

from .models import LinkKind, NeedLink, Result, ResultKind
from .results import ResultView, all_results, statuses

COLUMNS = ["id", "kind", "title", "url", "status", "progress", "source", "justification", "links"]
KEPT_LINKS = (LinkKind.PROGRAMME.value, LinkKind.PACT.value)


def public_url(view: ResultView) -> str:
    if view.kind == ResultKind.NEED.value:
        return external_url("accountability.need", need_id=view.subject_id)
    if view.kind == ResultKind.PACT_OBJECTIVE.value:
        return external_url("pacts.show", pact_id=view.subject_id)
    return external_url("accountability.commitment", commitment_id=view.subject_id)


def as_record(view: ResultView) -> dict:
    return {"id": view.id, "kind": view.kind, "title": view.title, "url": public_url(view),
            "status": view.status, "progress": view.progress, "source": view.source,
            "justification": view.justification, "links": view.links}


def export_records() -> list[dict]:
    """Every result, in English (the titles an import compares against)."""
    with force_locale("en"):
        return [as_record(v) for v in all_results()]


def export_csv() -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for item in export_records():
        writer.writerow({**item, "links": " ".join(item["links"])})
    return out.getvalue()


@dataclass
class RowChange:
    line: int
    id: str
    outcome: str        # created, updated, unchanged, refused
    reason: str = ""
    changes: dict | None = None
    row_id: int | None = None   # the result's row when it has one (an update, not a creation)


@dataclass
class ImportPlan:
    rows: list[RowChange]

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def refused(self) -> list[RowChange]:
        return [r for r in self.rows if r.outcome == "refused"]

    def summary(self) -> str:
        return (f"created {self.count('created')}, updated {self.count('updated')}, "
                f"unchanged {self.count('unchanged')}, refused {self.count('refused')}")


def _refuse(line, rid, reason) -> RowChange:
    return RowChange(line, rid, "refused", reason)


def plan_import(text: str) -> ImportPlan:
    """What importing the CSV would change, row by row, writing nothing."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != COLUMNS:
        return ImportPlan([_refuse(1, "", _("The first line must be the export's columns: %(columns)s.",
                                              columns=",".join(COLUMNS)))])
    with force_locale("en"):
        current = {v.id: v for v in all_results()}
        urls = {rid: public_url(v) for rid, v in current.items()}
    plan, seen = [], set()
    for row in reader:
        line = reader.line_num
        rid = (row.get("id") or "").strip()
        view = current.get(rid)
        if None in row or any(v is None for v in row.values()):
            plan.append(_refuse(line, rid, _("The line does not have the export's %(n)s columns.", n=len(COLUMNS))))
            continue
        if view is None:
            plan.append(_refuse(line, rid, _("There is no result %(id)s.", id=rid)))
            continue
        if rid in seen:
            plan.append(_refuse(line, rid, _("The result %(id)s is on an earlier line too.", id=rid)))
            continue
        seen.add(rid)
        if row["kind"] != view.kind or row["title"] != view.title or row["url"] != urls[rid]:
            plan.append(_refuse(line, rid, _("The kind, title and address are read-only.")))
            continue
        try:
            progress = int(row["progress"])
        except ValueError:
            plan.append(_refuse(line, rid, _("Progress is a whole number from 0 to 100.")))
            continue
        status, source, justification = row["status"].strip(), row["source"].strip(), row["justification"].strip()
        if not 0 <= progress <= 100:
            plan.append(_refuse(line, rid, _("Progress is a whole number from 0 to 100.")))
            continue
        if status not in statuses(view.kind):
            plan.append(_refuse(line, rid, _("The status must be one of: %(statuses)s.",
                                             statuses=", ".join(statuses(view.kind)))))
            continue
        if source not in ("computed", "set"):
            plan.append(_refuse(line, rid, _("The source is “computed” or “set”.")))
            continue
        if source == "computed" and (status, progress) != (view.computed_status, view.computed_progress):
            plan.append(_refuse(line, rid, _("A status or progress other than the computed one is “set”, "
                                             "with a justification.")))
            continue
        if source == "set" and not justification:
            plan.append(_refuse(line, rid, _("A status and progress set by hand need a justification.")))
            continue
        links = set(row["links"].split())
        derived = set(view.links) - set(view.stored_links)
        kept = links - derived
        if not derived <= links or any(link.partition(":")[0] not in KEPT_LINKS for link in kept) \
                or (kept and view.kind != ResultKind.NEED.value):
            plan.append(_refuse(line, rid, _("Only the links of a need to a voucher programme or a pact can "
                                             "be changed here; the others are recorded by their own records.")))
            continue
        wanted = {"status": status if source == "set" else None, "progress": progress if source == "set" else None,
                  "justification": justification if source == "set" else ""}
        had = {"status": view.row.status if view.row else None, "progress": view.row.progress if view.row else None,
               "justification": view.row.justification if view.row else ""}
        if view.row is None or view.row.progress is None:
            had = {"status": None, "progress": None, "justification": ""}
        changes = {k: v for k, v in wanted.items() if v != had[k]}
        if kept != set(view.stored_links):
            changes["links"] = sorted(kept)
        if not changes:
            plan.append(RowChange(line, rid, "unchanged"))
            continue
        plan.append(RowChange(line, rid, "created" if view.row is None else "updated", changes={**wanted, **changes},
                              row_id=view.row.id if view.row is not None else None))
    return _refuse_missing_targets(ImportPlan(plan))


def _link_targets_missing(plan: ImportPlan) -> dict:
    """Programme slugs and pact ids named by new links that do not exist (one statement each)."""
    slugs, pact_ids = set(), set()
    for change in plan.rows:
        for link in (change.changes or {}).get("links", []):
            kind, _sep, target = link.partition(":")
            (slugs if kind == LinkKind.PROGRAMME.value else pact_ids).add(target)
    found_slugs = set(db.session.execute(select(Programme.slug).where(Programme.slug.in_(slugs))).scalars()) \
        if slugs else set()
    numeric = [int(p) for p in pact_ids if p.isdigit()]
    found_pacts = {str(p) for p in db.session.execute(select(Pact.id).where(Pact.id.in_(numeric))).scalars()} \
        if numeric else set()
    return {"programme": slugs - found_slugs, "pact": pact_ids - found_pacts}


def _refuse_missing_targets(plan: ImportPlan) -> ImportPlan:
    missing = _link_targets_missing(plan)
    for change in plan.rows:
        for link in (change.changes or {}).get("links", []):
            kind, _sep, target = link.partition(":")
            if target in missing.get(kind, ()):
                change.outcome, change.reason = "refused", _("%(link)s names no existing record.", link=link)
                change.changes = None
                break
    return plan


def import_csv(text: str, *, actor=None, dry_run: bool = False) -> ImportPlan:
    """Apply a CSV as the export writes it: every row checked first; one refused row and nothing is
    written; otherwise every change in one transaction, with one audit entry for the import."""
    if dry_run:
        return plan_import(text)
    actor_id = getattr(actor, "id", None)
    # Planned inside the writing transaction (on SQLite it holds the write lock from the start):
    # what was compared is what is written over.
    with transaction():
        plan = plan_import(text)
        changed = [r for r in plan.rows if r.changes]
        if plan.refused or not changed:
            return plan
        now = utcnow()
        keys = [_split(r.id) for r in changed]
        values = [{"status": r.changes["status"], "progress": r.changes["progress"],
                   "justification": r.changes["justification"], "updated_by_id": actor_id, "updated_at": now}
                  for r in changed]
        new = [{"kind": k, "subject_id": s, **v} for r, (k, s), v in zip(changed, keys, values) if r.row_id is None]
        old = [{"id": r.row_id, **v} for r, v in zip(changed, values) if r.row_id is not None]
        if new:
            db.session.execute(insert(Result), new)
        if old:
            db.session.execute(update(Result), old)
        relinked = [(s, r.changes["links"]) for r, (k, s) in zip(changed, keys) if "links" in r.changes]
        if relinked:
            db.session.execute(delete(NeedLink).where(NeedLink.need_id.in_([s for s, _links in relinked])))
            rows = [{"need_id": s, "kind": link.partition(":")[0], "target": link.partition(":")[2],
                     "created_by_id": actor_id, "created_at": now} for s, links in relinked for link in links]
            if rows:
                db.session.execute(insert(NeedLink), rows)
        record("accountability.imported", object_type="accountability_results", object_id=0, actor=actor,
               after={"created": plan.count("created"), "updated": plan.count("updated"),
                      "ids": [r.id for r in changed][:1000]})
    return plan


def _split(result_id: str) -> tuple[str, int]:
    kind, _sep, number = result_id.rpartition("-")
    return kind, int(number)
