"""Open Contracting data: every published process as an OCDS 1.1 release and a
compiled record, the city's release package, and a flat CSV.

Social criteria go into standard fields where OCDS has them (awardCriteria and
awardCriteriaDetails; the sustainability extension's `tender.sustainability`
goals with the `awardCriteria` and `contractPerformanceConditions` strategies),
and into the Procomún social-procurement extension where it has none
(procurement/OCDS_EXTENSION.md, procurement/ocds_extension/)."""
import json
from datetime import datetime, time
from pathlib import Path

from flask import current_app, jsonify, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from app.i18n import city_timezone
from app.opendata import OpenData, csv_response

from . import evaluation, processes
from .models import CriterionKind, Phase, Procedure

opendata = OpenData("procurement")
EXTENSION_DIR = Path(__file__).parent / "ocds_extension"
SUSTAINABILITY_EXTENSION = ("https://raw.githubusercontent.com/open-contracting-extensions/"
                            "ocds_sustainability_extension/master/extension.json")
LICENSE = "https://creativecommons.org/licenses/by/4.0/"

# Where each social criterion sits in the sustainability extension's goal codelist
# (an open codelist: user participation gets a narrower 'social' code of our own).
SUSTAINABILITY_GOALS = {
    CriterionKind.SOCIAL_INCLUSION: "social.disadvantagedEmploymentOpportunities",
    CriterionKind.LOCAL_EMPLOYMENT: "economic.localEconomyPromotion",
    CriterionKind.USER_PARTICIPATION: "social.userParticipation",
    CriterionKind.ENVIRONMENTAL: "environmental",
    CriterionKind.FAIR_WAGES: "social.laborRightsPromotion",
}
TAGS = {
    Phase.PLANNING: ["planning"], Phase.TENDER: ["tender"], Phase.BIDS: ["tenderUpdate"],
    Phase.AWARD: ["award"], Phase.CONTRACT: ["contract"], Phase.IMPLEMENTATION: ["implementation"],
    Phase.CLOSED: ["implementationUpdate", "contractTermination"], Phase.CANCELLED: ["tenderCancellation"],
}
TENDER_STATUS = {
    Phase.PLANNING: "planning", Phase.TENDER: "active", Phase.BIDS: "active", Phase.CANCELLED: "cancelled",
}
METHODS = {Procedure.OPEN: "open", Procedure.RESERVED: "selective", Procedure.NEGOTIATED: "limited",
           Procedure.CO_DESIGN: "selective"}
METHOD_DETAILS = {
    Procedure.OPEN: "Open procedure",
    Procedure.RESERVED: "Reserved for social-economy organisations and sheltered workshops",
    Procedure.NEGOTIATED: "Negotiated procedure",
    Procedure.CO_DESIGN: "Co-design with social-economy organisations",
}


def _moment(value, end: bool = False) -> str | None:
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


def ocid(process) -> str:
    return f"{processes.ocid_prefix()}-{process.reference}"


def _party(org, roles: set) -> dict:
    return {"id": org.slug, "name": org.name, "roles": sorted(roles),
            "details": {"organisationKind": org.kind, "socialEconomy": org.is_social_economy}}


def _parties(process) -> list[dict]:
    roles = {process.department.slug: (process.department, {"buyer", "procuringEntity"})}
    if process.phase != Phase.TENDER:  # bidders are named once bidding has closed
        for bid in process.bids:
            roles.setdefault(bid.organisation.slug, (bid.organisation, set()))[1].add("tenderer")
    if process.award:
        roles.setdefault(process.award.supplier.slug, (process.award.supplier, set()))[1].add("supplier")
    parties = []
    for org, party_roles in roles.values():
        party = _party(org, party_roles)
        if "supplier" in party_roles:
            party["details"]["accreditedForService"] = processes.accredited(process, org)
        parties.append(party)
    return parties


def _ref(org) -> dict:
    return {"id": org.slug, "name": org.name}


def _criteria_details(process) -> str:
    return "; ".join(f"{CriterionKind(c.kind).name.replace('_', ' ').lower()}: {c.weight}%"
                     + (f" ({c.description})" if c.description else "") for c in process.criteria)


def _tender(process) -> dict:
    procedure = process.procedure_enum
    social = [c for c in process.criteria if c.kind_enum.social]
    goals = {}
    for c in social:
        goals.setdefault(SUSTAINABILITY_GOALS[c.kind_enum], {"awardCriteria"})
    if process.contract:
        for commitment in process.contract.commitments:
            goals.setdefault(SUSTAINABILITY_GOALS[commitment.kind_enum], set()).add("contractPerformanceConditions")
    tender = {
        "id": process.reference,
        "title": process.title,
        "description": process.description or None,
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
                              "description": c.description} for c in process.criteria],
        "socialProcurement": {"procedure": procedure.value, "reserved": procedure == Procedure.RESERVED,
                              "serviceCategory": process.category.slug if process.category else None,
                              "councilPriorityNeedId": process.priority_need_id},
    }
    if process.bid_deadline:
        tender["tenderPeriod"] = {"startDate": _moment(process.published_at),
                                  "endDate": _moment(process.bid_deadline, end=True)}
    if process.phase != Phase.TENDER:
        tender["numberOfTenderers"] = len(process.bids)
        tender["tenderers"] = [_ref(b.organisation) for b in process.bids]
    return tender


def _award(process) -> dict:
    award = process.award
    return {
        "id": f"{process.reference}-award",
        "title": process.title,
        "description": evaluation.award_reasons(award),
        "status": "active",
        "date": _moment(award.decided_on),
        "value": _value(award.value_cents),
        "suppliers": [_ref(award.supplier)],
        "socialProcurement": {
            "ranking": [{"organisation": r["organisation"], "name": r["name"], "score": r["total"] / 100,
                         "rank": r["rank"]} for r in award.ranking],
            "tie": award.tie, "override": award.override, "justification": award.justification or None,
            "supplierSocialEconomy": award.supplier.is_social_economy,
        },
    }


def _contract(process) -> dict:
    contract = process.contract
    status = {Phase.CLOSED: "terminated"}.get(process.phase_enum, "active")
    return {
        "id": f"{process.reference}-contract",
        "awardID": f"{process.reference}-award",
        "title": process.title,
        "status": status,
        "period": {"startDate": _moment(contract.period_start), "endDate": _moment(contract.period_end, end=True)},
        "value": _value(contract.value_cents),
        "dateSigned": _moment(contract.signed_on),
        "milestones": [{"id": str(m.id), "title": m.title, "type": "delivery", "dueDate": _moment(m.due_on),
                        "dateMet": _moment(m.met_on), "status": "met" if m.met_on else "scheduled",
                        "description": m.report or None} for m in contract.milestones],
        "implementation": {
            "transactions": [{"id": str(p.id), "date": _moment(p.paid_on), "value": _value(p.amount_cents),
                              "payer": _ref(process.department), "payee": _ref(contract.supplier)}
                             for p in contract.payments],
            "serviceMetrics": [{"name": m.name, "value": m.value, "unit": m.unit or None,
                                "date": _moment(m.recorded_on)} for m in contract.metrics],
        },
        "socialCommitments": [{"id": str(c.id), "criterion": c.kind, "goal": SUSTAINABILITY_GOALS[c.kind_enum],
                               "description": c.description, "dueDate": _moment(c.due_on), "status": c.status,
                               "dateAssessed": _moment(c.assessed_on), "note": c.note or None}
                              for c in contract.commitments],
    }


def _prune(value):
    """Leave out empty fields: in OCDS a null means "remove" when releases are merged."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def release(process) -> dict:
    """The process as one OCDS release describing its current state, in English
    (the language the release declares)."""
    with force_locale("en"):
        return _prune(_release(process))


def _release(process) -> dict:
    updated = process.updated_at or process.created_at
    body = {
        "ocid": ocid(process),
        "id": f"{ocid(process)}-{process.phase}-{updated.strftime('%Y%m%dT%H%M%S')}",
        "date": _moment(updated),
        "tag": TAGS[process.phase_enum],
        "initiationType": "tender",
        "language": "en",
        "parties": _parties(process),
        "buyer": _ref(process.department),
        "planning": {"rationale": process.description or None,
                     "budget": {"amount": _value(process.budget_cents), "description": process.title}},
        "tender": _tender(process),
    }
    if process.award:
        body["awards"] = [_award(process)]
    if process.contract:
        body["contracts"] = [_contract(process)]
    return body


def record(process) -> dict:
    """The compiled record: with one release per process, the compiled release is
    that release under the 'compiled' tag."""
    current = release(process)
    return {"ocid": current["ocid"],
            "releases": [{"url": url_for("procurement.release_json", process_id=process.id, _external=True),
                          "date": current["date"], "tag": current["tag"]}],
            "compiledRelease": {**current, "tag": ["compiled"]}}


def _package_meta(uri: str, processes) -> dict:
    dates = [p.updated_at for p in processes if p.updated_at]
    return {
        "uri": uri,
        "version": "1.1",
        "publishedDate": _moment(max(dates)) if dates else _moment(datetime.now(city_timezone())),
        "publisher": {"name": current_app.config["PROCOMUN_CITY_NAME"]},
        "license": LICENSE,
        "extensions": [SUSTAINABILITY_EXTENSION,
                       url_for("procurement.extension_json", _external=True)],
    }


def release_package() -> dict:
    published = processes.published_processes()
    return {**_package_meta(url_for("procurement.procurement_json", _external=True), published),
            "releases": [release(p) for p in published]}


@opendata.route("/procurement.json", _l("Social procurement (Open Contracting)"), "OCDS JSON",
                _l("Every published procurement process as an OCDS 1.1 release, with its social criteria."))
def procurement_json():
    return jsonify(release_package())


def _published(process_id):
    return processes.process_by_id(process_id, None)  # open data: only what the public may read


@opendata.route("/procurement/<int:process_id>/release.json")
def release_json(process_id):
    process = _published(process_id)
    return jsonify({**_package_meta(url_for(".release_json", process_id=process_id, _external=True), [process]),
                    "releases": [release(process)]})


@opendata.route("/procurement/<int:process_id>/record.json")
def record_json(process_id):
    process = _published(process_id)
    meta = _package_meta(url_for(".record_json", process_id=process_id, _external=True), [process])
    return jsonify({**meta, "records": [record(process)]})


@opendata.route("/procurement/extension.json")
def extension_json():
    return jsonify(json.loads((EXTENSION_DIR / "extension.json").read_text()))


@opendata.route("/procurement/release-schema.json")
def extension_schema_json():
    return jsonify(json.loads((EXTENSION_DIR / "release-schema.json").read_text()))


CSV_FIELDS = ["ocid", "reference", "title", "department", "category", "procedure", "phase", "budget",
              "bid_deadline", "criteria", "social_weight", "bids", "supplier", "supplier_kind",
              "supplier_social_economy", "supplier_accredited", "award_date", "award_value", "award_score", "tie",
              "override",
              "contract_value", "contract_start", "contract_end", "paid", "commitments_kept",
              "commitments_missed", "commitments_pending"]


def _csv_rows():
    for p in processes.published_processes():
        award, contract = p.award, p.contract
        commitments = contract.commitments if contract else []
        yield [ocid(p), p.reference, p.title, p.department.name, p.category.slug if p.category else "",
               p.procedure, p.phase, p.budget_cents / 100, p.bid_deadline.isoformat() if p.bid_deadline else "",
               "; ".join(f"{c.kind} {c.weight}" for c in p.criteria),
               sum(c.weight for c in p.criteria if c.kind_enum.social),
               len(p.bids) if p.phase != Phase.TENDER else "",
               award.supplier.name if award else "", award.supplier.kind if award else "",
               award.supplier.is_social_economy if award else "",
               processes.accredited(p, award.supplier) if award and p.category else "",
               award.decided_on.isoformat() if award else "", award.value_cents / 100 if award else "",
               award.total_score / 100 if award else "", award.tie if award else "",
               award.override if award else "",
               contract.value_cents / 100 if contract else "",
               contract.period_start.isoformat() if contract else "",
               contract.period_end.isoformat() if contract else "",
               contract.paid_cents / 100 if contract else "",
               sum(c.status == "kept" for c in commitments), sum(c.status == "missed" for c in commitments),
               sum(c.status == "pending" for c in commitments)]


@opendata.route("/procurement.csv", _l("Social procurement (Open Contracting)"), "CSV",
                _l("One row per published process: criteria, supplier and whether it is social economy, award, "
                   "contract, payments and commitments."))
def procurement_csv():
    return csv_response(CSV_FIELDS, _csv_rows(), "procurement.csv")

