"""Open Contracting releases: what the public was told about a process, when, kept for ever.

Every change of a published process that OCDS can express publishes a *new* release, in the
transaction of the change, with its own `id`, `date` and `tag`; the JSON text is stored as
served (procurement_releases) and never rewritten (the database refuses an UPDATE or DELETE).
Each release is a full snapshot of the process as the public may read it at that moment; the
process's record (its releases linked, a compiled and a versioned release) is extended with each
new release by `ocdsmerge`, the OCDS reference implementation, with the merge rules of the release
schema patched with the package's extensions (local copies in ocds_schema/).

How an operation publishes (after its own writes, inside its `with transaction():`):

    publish_release(process, ["award"], actor=actor)
    publish_release(process, ["tenderAmendment"], actor=actor,
                    amendment=AmendmentNote(rationale="Deadline extended: a holiday fell in the period",
                                            description="Bids until 30 June"))

`tags` are codes of OCDS's releaseTag codelist (tender, tenderAmendment, tenderUpdate,
tenderCancellation, award, awardUpdate, awardCancellation, contract, contractAmendment,
contractUpdate, implementation, implementationUpdate, contractTermination). An amendment is kept
with the process and listed in `tender.amendments` (scope "tender") or the contract's
`amendments` (scope "contract"), or the award's (scope "award", tag awardUpdate), of this release
and every later one, with the release it amends
(`amendsReleaseID`, the previous release) and the release that carries it (`releaseID`).
Nothing is published for a process the public cannot see yet (in planning)."""
import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from ocdsmerge import Merger
from ocdsmerge.merge import CompiledRelease, VersionedRelease
from ocdsmerge.rules import get_merge_rules
from sqlalchemy import func, select
from sqlalchemy.orm import defer, selectinload

from app.database import after_upgrade, transaction, utcnow
from app.extensions import db
from app.i18n import city_timezone
from app.urls import external_url
from councils.needs import priority_need_by_id

from . import flags
from .awarding import accredited, award_reasons
from .models import (
    Amendment,
    Bid,
    Contract,
    CriterionKind,
    Phase,
    Procedure,
    Process,
    Record,
    Release,
)
from .price_formulas import formula_of

HERE = Path(__file__).parent
SUSTAINABILITY_COMMIT = "b8d93a0edb8e0ac2f27f733cccf3884e392346e9"
SUSTAINABILITY_EXTENSION = ("https://raw.githubusercontent.com/open-contracting-extensions/"
                            f"ocds_sustainability_extension/{SUSTAINABILITY_COMMIT}/extension.json")
SCHEMAS = [HERE / "ocds_schema" / "release-schema-1__1__5.json",
           HERE / "ocds_schema" / "sustainability-b8d93a0-release-schema.json",
           HERE / "ocds_extension" / "release-schema.json"]

# The tag of the release that a process in this phase would have published last: what a
# process published before releases were kept is backfilled with (publish_missing).
PHASE_TAGS = {
    Phase.TENDER: ["tender"], Phase.BIDS: ["tenderUpdate"], Phase.AWARD: ["award"],
    Phase.CONTRACT: ["contract"], Phase.IMPLEMENTATION: ["implementation"],
    Phase.CLOSED: ["contractTermination"], Phase.CANCELLED: ["tenderCancellation"],
}
TENDER_STATUS = {Phase.PLANNING: "planning", Phase.TENDER: "active", Phase.BIDS: "active",
                 Phase.CANCELLED: "cancelled"}
METHODS = {Procedure.OPEN: "open", Procedure.RESERVED: "selective", Procedure.NEGOTIATED: "limited",
           Procedure.CO_DESIGN: "selective"}
METHOD_DETAILS = {
    Procedure.OPEN: "Open procedure",
    Procedure.RESERVED: "Reserved for social-economy organisations and sheltered workshops",
    Procedure.NEGOTIATED: "Negotiated procedure",
    Procedure.CO_DESIGN: "Co-design with social-economy organisations",
}
# Where each social criterion sits in the sustainability extension's goal codelist
# (an open codelist: user participation gets a narrower 'social' code of our own).
SUSTAINABILITY_GOALS = {
    CriterionKind.SOCIAL_INCLUSION: "social.disadvantagedEmploymentOpportunities",
    CriterionKind.LOCAL_EMPLOYMENT: "economic.localEconomyPromotion",
    CriterionKind.USER_PARTICIPATION: "social.userParticipation",
    CriterionKind.ENVIRONMENTAL: "environmental",
    CriterionKind.FAIR_WAGES: "social.laborRightsPromotion",
}


@dataclass(frozen=True)
class AmendmentNote:
    """What an amendment changes and why; `scope` is "tender" or "contract"; `before` and `after`
    the changed fields as they were and became (kept with the amendment, with who made it)."""
    rationale: str
    description: str = ""
    scope: str = "tender"
    before: dict | None = None
    after: dict | None = None


# Publishing -------------------------------------------------------------------------------

def ocid(process: Process) -> str:
    """The process's Open Contracting id: the city's registered prefix and the reference."""
    return f"{current_app.config['PROCUREMENT_OCID_PREFIX']}-{process.reference}"


def publish_release(process: Process, tags: list[str], *, actor, amendment: AmendmentNote | None = None,
                    date: datetime | None = None) -> Release | None:
    """Publish the process as it now stands as a new release tagged `tags`, and extend its
    record with it. Call it inside the operation's transaction, after the operation's writes:
    the release and the change are committed together or not at all. Returns None for a
    process the public cannot see.

    Guarantees: releases of a process are numbered 1, 2, … without gaps and dated strictly
    later than the previous one (two changes at once are serialised by a lock on the process);
    the ocid is the one of the process's first release even if the prefix setting changes;
    no published row is touched. `date` is for the backfill only (when the content was current)."""
    with transaction():
        # Concurrent changes of this process publish one after the other, each seeing the other's rows.
        db.session.execute(select(Process.id).where(Process.id == process.id).with_for_update())
        db.session.flush()
        db.session.expire_all()
        process = _loaded(process.id)
        if not process.published:
            return None
        previous = db.session.execute(select(Release).where(Release.process_id == process.id)
                                      .order_by(Release.number.desc()).limit(1)).scalar_one_or_none()
        number = previous.number + 1 if previous else 1
        process_ocid = previous.ocid if previous else ocid(process)
        release_id = f"{process_ocid}-{number}"
        moment = date or utcnow()
        if previous is not None and moment <= previous.date:
            moment = previous.date + timedelta(microseconds=1)
        if amendment is not None:
            db.session.add(Amendment(process_id=process.id, scope=amendment.scope, rationale=amendment.rationale,
                                     description=amendment.description, date=moment,
                                     amends_release_id=previous.release_id if previous else "",
                                     release_id=release_id, amended_by_id=getattr(actor, "id", None),
                                     before=amendment.before, after=amendment.after))
            db.session.flush()
        body = dumps(build_release(process, process_ocid, release_id, moment, tags))
        release = Release(process_id=process.id, number=number, ocid=process_ocid, release_id=release_id,
                          date=moment, tags=list(tags), body=body, published_by_id=getattr(actor, "id", None))
        db.session.add(release)
        db.session.flush()
        _write_record(process, release)
        flags.refresh(process_id=process.id)  # what the change raised or cleared, published with it
    return release


def follow_up_tags(process: Process) -> list[str]:
    """The tag of a payment, metric, milestone report or commitment assessment: an update of the
    implementation once it has started, of the signed contract before."""
    return ["implementationUpdate" if process.phase == Phase.IMPLEMENTATION else "contractUpdate"]


@after_upgrade
def publish_missing() -> int:
    """One release, from its current state, for every published process that has none (the
    processes published before releases were kept). Idempotent; returns how many."""
    missing = db.session.execute(
        select(Process.id).where(Process.published_at.is_not(None),
                                 ~select(Release.id).where(Release.process_id == Process.id).exists())
        .order_by(Process.id)).scalars().all()
    for process_id in missing:
        process = db.session.get(Process, process_id)
        publish_release(process, PHASE_TAGS[process.phase_enum], actor=None,
                        date=process.updated_at or process.published_at)
    return len(missing)


def dumps(value) -> str:
    """The one serialisation of published JSON (compact, UTF-8 as is)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loaded(process_id: int) -> Process:
    return db.session.execute(select(Process).where(Process.id == process_id).options(
        selectinload(Process.criteria), selectinload(Process.bids).selectinload(Bid.scores),
        selectinload(Process.award), selectinload(Process.contract).selectinload(Contract.milestones),
        selectinload(Process.contract).selectinload(Contract.commitments),
        selectinload(Process.contract).selectinload(Contract.payments),
        selectinload(Process.contract).selectinload(Contract.metrics))).scalar_one()


# The record -------------------------------------------------------------------------------

def _merge_patch(target, patch):
    """JSON Merge Patch (RFC 7386): how an extension's schema patches the release schema."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge_patch(merged.get(key), value)
    return merged


@cache
def merger() -> Merger:
    """ocdsmerge with the merge rules of OCDS 1.1.5 patched with the declared extensions."""
    schema = {}
    for path in SCHEMAS:
        schema = _merge_patch(schema, json.loads(path.read_text()))
    return Merger(merge_rules=get_merge_rules(schema))


def _write_record(process: Process, release: Release) -> None:
    """Merge the new release into the process's record. Releases merge in date order and the new
    one is the latest, so extending the stored compiled and versioned releases with it gives what
    merging them all again would (test_ocds_tools checks it against ocdskit), at the cost of one
    record instead of the whole history (a process with 69 releases on SQLite: 67 ms to publish a
    change, 253 ms when everything was merged again)."""
    rules = merger().merge_rules
    body = json.loads(release.body)
    linked = {"url": release_url(release.ocid, release.number), "date": body["date"], "tag": body["tag"]}
    record = db.session.get(Record, process.id)
    if record is None:
        previous = {"releases": [], "compiledRelease": None, "versionedRelease": None}
    else:
        previous = json.loads(record.body)
    compiled = CompiledRelease(previous["compiledRelease"], merge_rules=rules)
    versioned = VersionedRelease(previous["versionedRelease"], merge_rules=rules)
    compiled.append(body)
    versioned.append(body)
    text = dumps({"ocid": release.ocid, "releases": previous["releases"] + [linked],
                  "compiledRelease": compiled.asdict(), "versionedRelease": versioned.asdict()})
    if record is None:
        db.session.add(Record(process_id=process.id, ocid=release.ocid, body=text, updated_at=release.date))
    else:
        record.body, record.updated_at = text, release.date


def release_url(process_ocid: str, number: int) -> str:
    return external_url("procurement.release_json", ocid=process_ocid, number=number)


def record_url(process_ocid: str) -> str:
    return external_url("procurement.record_json", ocid=process_ocid)


# Reading ----------------------------------------------------------------------------------

def amendments_of(process: Process) -> list[Amendment]:
    """The process's amendments (extensions, cancellation, contract changes), oldest first."""
    return db.session.execute(select(Amendment).where(Amendment.process_id == process.id)
                              .order_by(Amendment.id)).scalars().all()


def releases_of(process: Process) -> list[Release]:
    """The process's releases, oldest first, without their bodies (for its page)."""
    return db.session.execute(select(Release).where(Release.process_id == process.id)
                              .options(defer(Release.body)).order_by(Release.number)).scalars().all()


def release_by_number(process_ocid: str, number: int) -> Release | None:
    return db.session.execute(select(Release).where(Release.ocid == process_ocid, Release.number == number)
                              ).scalar_one_or_none()


def record_of(process_ocid: str) -> Record | None:
    return db.session.execute(select(Record).where(Record.ocid == process_ocid)).scalar_one_or_none()


def newest_release_date() -> datetime | None:
    return db.session.execute(select(func.max(Release.date))).scalar_one()


# The release's content --------------------------------------------------------------------

def ocds_moment(value, end: bool = False) -> str | None:
    """OCDS dates are date-times; a calendar date is midnight in the city, or, for an end
    date (end=True), the day's last second: the day itself is included (bids are accepted
    until the deadline day is over), as the OCDS guidance asks when only a date is known."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return datetime.combine(value, time(23, 59, 59) if end else time(0), tzinfo=city_timezone()).isoformat()


def _value(cents: int) -> dict:
    return {"amount": cents / 100, "currency": current_app.config["PROCOMUN_CURRENCY"]}


def _ref(org) -> dict:
    return {"id": org.slug, "name": org.name}


def _party(process, org, roles: set) -> dict:
    # The kind of organisation sits in the extension's own fields, not in `details`: OCDS's versioned
    # release schema takes `details` as one value, and ocdsmerge versions each of its fields.
    return {"id": org.slug, "name": org.name,
            # The city's register of organisations is the scheme (declared in the publication policy).
            "identifier": {"scheme": current_app.config["PROCOMUN_ORGANISATION_SCHEME"], "id": org.slug,
                           "legalName": org.name,
                           "uri": external_url("organisations.show", slug=org.slug)},
            "roles": sorted(roles), "organisationKind": org.kind, "socialEconomy": org.is_social_economy,
            "accreditedForService": accredited(process, org) if "supplier" in roles else None}


def _parties(process) -> list[dict]:
    roles = {process.department.slug: (process.department, {"buyer", "procuringEntity"})}
    if process.phase != Phase.TENDER:  # bidders are named once bidding has closed
        for bid in process.bids:
            roles.setdefault(bid.organisation.slug, (bid.organisation, set()))[1].add("tenderer")
    if process.award:
        roles.setdefault(process.award.supplier.slug, (process.award.supplier, set()))[1].add("supplier")
    return [_party(process, org, party_roles) for org, party_roles in roles.values()]


# The published scoring rules (procurement/evaluation.py: PANEL_RULE, TIE_RULE), in English.
SCORING_RULES = ("Quality and social criteria are scored from 0 to 100 by each member of the evaluation panel; "
                 "the panel's score is their mean, rounded half up to the hundredth. Equal totals are separated "
                 "by the points on the social criteria, then by the lower price; a tie that remains is decided by "
                 "the officials with a written justification.")


def _criteria_details(process) -> str:
    weights = "; ".join(f"{CriterionKind(c.kind).name.replace('_', ' ').lower()}: {c.weight}%"
                        + (f" ({c.description})" if c.description else "") for c in process.criteria)
    price = next((c for c in process.criteria if c.kind == CriterionKind.PRICE), None)
    formula = f"Price is scored by formula ({formula_of(price).name}): {formula_of(price).english}. " if price else ""
    return f"{weights}. {formula}{SCORING_RULES}" if weights else ""


def _amendments(amendments) -> list[dict]:
    return [{"id": str(a.id), "date": ocds_moment(a.date), "rationale": a.rationale, "description": a.description,
             "amendsReleaseID": a.amends_release_id, "releaseID": a.release_id} for a in amendments]


def _tender(process, amendments) -> dict:
    procedure = process.procedure_enum
    goals = {}
    for c in process.criteria:
        if c.kind_enum.social:
            goals.setdefault(SUSTAINABILITY_GOALS[c.kind_enum], {"awardCriteria"})
    if process.contract:
        for commitment in process.contract.commitments:
            goals.setdefault(SUSTAINABILITY_GOALS[commitment.kind_enum], set()).add("contractPerformanceConditions")
    tender = {
        "id": process.reference,
        "title": process.title,
        "description": process.description,
        "status": TENDER_STATUS.get(process.phase_enum, "complete"),
        "procuringEntity": _ref(process.department),
        "value": _value(process.budget_cents),
        "procurementMethod": METHODS[procedure],
        "procurementMethodDetails": METHOD_DETAILS[procedure],
        "mainProcurementCategory": "services",
        "awardCriteria": "ratedCriteria",
        "awardCriteriaDetails": _criteria_details(process),
        "hasSustainability": bool(goals) or procedure == Procedure.RESERVED,
        "sustainability": [{"goal": goal, "strategies": sorted(strategies)} for goal, strategies in goals.items()],
        # Procomún extension: the weighted criteria as data, and how the procedure is reserved.
        "weightedCriteria": [{"id": str(c.id), "kind": c.kind, "weight": c.weight, "social": c.kind_enum.social,
                              "description": c.description, "priceFormula": c.formula or None}
                             for c in process.criteria],
        "socialProcurement": {"procedure": procedure.value, "reserved": procedure == Procedure.RESERVED,
                              "serviceCategory": process.category.slug if process.category else None,
                              "councilPriorityNeedId": process.priority_need_id},
        "amendments": _amendments(a for a in amendments if a.scope == "tender"),
    }
    if process.bid_deadline:
        tender["tenderPeriod"] = {"startDate": ocds_moment(process.published_at),
                                  "endDate": ocds_moment(process.bid_deadline, end=True)}
    if process.phase != Phase.TENDER:
        tender["numberOfTenderers"] = len(process.bids)
        tender["tenderers"] = [_ref(b.organisation) for b in process.bids]
    return tender


def _pdf(kind: str, process, title: str, endpoint: str, published) -> dict:
    return {"id": f"{process.reference}-{kind}", "documentType": kind, "title": title,
            "url": external_url(endpoint, process_id=process.id), "format": "application/pdf",
            "datePublished": ocds_moment(published)}


def _award(process, amendments) -> dict:
    award = process.award
    return {
        "id": f"{process.reference}-award",
        "title": process.title,
        "description": award_reasons(award),
        "status": "active",
        "date": ocds_moment(award.decided_on),
        "value": _value(award.value_cents),
        "suppliers": [_ref(award.supplier)],
        "documents": [_pdf("awardNotice", process, "Award decision", "procurement.award_pdf", award.decided_on)],
        "socialProcurement": {
            "ranking": [{"organisation": r["organisation"], "name": r["name"], "score": r["total"] / 100,
                         "rank": r["rank"]} for r in award.ranking],
            "tie": award.tie, "override": award.override, "justification": award.justification,
            "supplierSocialEconomy": award.supplier.is_social_economy,
        },
        "amendments": _amendments(a for a in amendments if a.scope == "award"),
    }


def _contract(process, amendments) -> dict:
    contract = process.contract
    status = {Phase.CLOSED: "terminated"}.get(process.phase_enum, "active")
    return {
        "id": f"{process.reference}-contract",
        "awardID": f"{process.reference}-award",
        "title": process.title,
        "status": status,
        "period": {"startDate": ocds_moment(contract.period_start),
                   "endDate": ocds_moment(contract.period_end, end=True)},
        "value": _value(contract.value_cents),
        "dateSigned": ocds_moment(contract.signed_on),
        "valueJustification": contract.value_justification,
        "documents": [_pdf("contractSummary", process, "Contract summary", "procurement.contract_pdf",
                           contract.signed_on)],
        "milestones": [{"id": str(m.id), "title": m.title, "type": "delivery", "dueDate": ocds_moment(m.due_on),
                        "dateMet": ocds_moment(m.met_on), "status": "met" if m.met_on else "scheduled",
                        "description": m.report} for m in contract.milestones],
        "implementation": {
            "transactions": [{"id": str(p.id), "date": ocds_moment(p.paid_on), "value": _value(p.amount_cents),
                              "payer": _ref(process.department), "payee": _ref(contract.supplier)}
                             for p in contract.payments],
            "serviceMetrics": [{"id": str(m.id), "name": m.name, "value": m.value, "unit": m.unit,
                                "date": ocds_moment(m.recorded_on)} for m in contract.metrics],
        },
        "socialCommitments": [{"id": str(c.id), "criterion": c.kind, "goal": SUSTAINABILITY_GOALS[c.kind_enum],
                               "description": c.description, "targetQuantity": c.target_quantity,
                               "dueDate": ocds_moment(c.due_on), "status": c.status,
                               "dateAssessed": ocds_moment(c.assessed_on), "note": c.note}
                              for c in contract.commitments],
        "amendments": _amendments(a for a in amendments if a.scope == "contract"),
    }


def _need(process) -> dict:
    """A tender answering a council's priority need says so: the need as the planning rationale,
    and as a related planning process at the need's public page (its chain of accountability)."""
    need = priority_need_by_id(process.priority_need_id) if process.priority_need_id else None
    if need is None:
        return {}
    rationale = f"Answers the priority need “{need.title}” adopted by {need.council.name} on {need.adopted_on}."
    return {"planning": {"rationale": f"{rationale} {process.description}".strip(),
                         "budget": {"amount": _value(process.budget_cents), "description": process.title}},
            "relatedProcesses": [{"id": f"need-{need.id}", "relationship": ["planning"], "title": need.title,
                                  "uri": external_url("accountability.need", need_id=need.id)}]}


def _prune(value):
    """Leave out what is not there: a null means "remove" when OCDS releases are merged, and an
    empty string, list or object tells a reader nothing (libcove's empty_field check)."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v is not None and v != "" and v != [] and v != {}}
    if isinstance(value, list):
        return [item for item in (_prune(v) for v in value) if item not in (None, "", [], {})]
    if isinstance(value, str):
        return value.strip()
    return value


def build_release(process, process_ocid: str, release_id: str, moment: datetime, tags: list[str]) -> dict:
    """The process as one OCDS release, in English (the language the release declares)."""
    amendments = db.session.execute(select(Amendment).where(Amendment.process_id == process.id)
                                    .order_by(Amendment.id)).scalars().all()
    with force_locale("en"):
        body = {
            "ocid": process_ocid,
            "id": release_id,
            "date": ocds_moment(moment),
            "tag": list(tags),
            "initiationType": "tender",
            "language": "en",
            "parties": _parties(process),
            "buyer": _ref(process.department),
            "planning": {"rationale": process.description,
                         "budget": {"amount": _value(process.budget_cents), "description": process.title}},
            "tender": _tender(process, amendments),
        }
        body.update(_need(process))
        if process.award:
            body["awards"] = [_award(process, amendments)]
        if process.contract:
            body["contracts"] = [_contract(process, amendments)]
        return _prune(body)
