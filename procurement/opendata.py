"""Open Contracting data, served: the release package of every release ever published (in
pages past the OCDS hosting guidance's size), the record package, a stable address for each
release and each record, the platform's extension, and a flat CSV.

The releases themselves are built and kept by procurement/releases.py; here they are only
read and written out byte for byte as they were published. Social criteria go into standard
fields where OCDS has them and into the Procomún extension where it has none
(procurement/OCDS_EXTENSION.md, procurement/ocds_extension/)."""
import json
from datetime import datetime
from pathlib import Path

from flask import abort, current_app, redirect, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.calendars import response
from app.extensions import db
from app.i18n import city_timezone
from app.opendata import OpenData, csv_response, json_document, licence_url
from app.urls import base_url, external_url

from . import awarding, flags, monitoring, processes, releases
from .calendar import tender_deadlines_calendar
from .models import Phase, Record, Release

opendata = OpenData("procurement")
EXTENSION_DIR = Path(__file__).parent / "ocds_extension"
OCDS_FIELDS = {
    "releases": _l("Every release ever published, oldest first: each is the process as it stood after one "
                   "change (tender, award, contract, payment…), never rewritten (OCDS 1.1 release schema)."),
    "links.next": _l("Present when the package goes on in another file: the address of the next page."),
    "extensions": _l("The OCDS sustainability extension and the platform's own extension, which documents "
                     "every field OCDS lacks (weighted criteria, social commitments, service metrics)."),
}
RECORD_FIELDS = {
    "records": _l("One record per process (ocid): the address, date and tag of each of its releases, the "
                  "compiled release (its latest state) and the versioned release (every value with its history)."),
}


# Package metadata ---------------------------------------------------------------------------

def _head(uri: str, published) -> dict:
    return {
        "uri": uri,
        "version": "1.1",
        "publishedDate": releases.ocds_moment(published),
        "publisher": {"name": current_app.config["PROCOMUN_CITY_NAME"],
                      "scheme": current_app.config["PROCOMUN_PUBLISHER_SCHEME"],
                      "uid": current_app.config["PROCOMUN_PUBLISHER_UID"], "uri": base_url() + "/"},
        "license": licence_url(),
        "publicationPolicy": external_url("procurement.publication_policy"),
        "extensions": [releases.SUSTAINABILITY_EXTENSION, external_url("procurement.extension_json")],
    }


def _published_date():
    return releases.newest_release_date() or datetime.now(city_timezone())


def _after() -> int:
    """The page's cursor: the last release (or process) id of the previous page."""
    value = request.args.get("after", "0")
    if not value.isdigit() or len(value) > 18:
        abort(400)
    return int(value)


def _paged(rows, endpoint: str, tail: dict):
    """Yield the bodies of `rows` ((key, body) in key order) until the page is full, then
    record in `tail` the link to the next page if there is one."""
    max_bytes = current_app.config["PROCUREMENT_PACKAGE_MAX_BYTES"]
    max_items = current_app.config["PROCUREMENT_PACKAGE_MAX_RELEASES"]
    size = count = 0
    last = None
    for key, body in rows:
        if count and (size >= max_bytes or count >= max_items):
            tail["links"] = {"next": external_url(endpoint, after=last)}
            break
        yield body
        size += len(body) + 1
        count += 1
        last = key
    if hasattr(rows, "close"):
        rows.close()


def _stream(statement):
    # Server-side cursor on PostgreSQL, a lazy cursor on SQLite: memory stays flat whatever the size.
    return db.session.execute(statement.execution_options(yield_per=200))


# The release package --------------------------------------------------------------------------

@opendata.route("/procurement.json", _l("Social procurement (Open Contracting)"), "OCDS JSON",
                _l("Every release ever published for every public procurement process, with its social "
                   "criteria: an OCDS 1.1 release package, in pages."), fields=OCDS_FIELDS)
def procurement_json():
    after = _after()
    tail = {}
    rows = _stream(select(Release.id, Release.body).where(Release.id > after).order_by(Release.id))
    uri = external_url("procurement.procurement_json", **({"after": after} if after else {}))
    return json_document(_head(uri, _published_date()), "releases",
                         _paged(rows, "procurement.procurement_json", tail), lambda: tail)


@opendata.route("/procurement-records.json", _l("Social procurement records (Open Contracting)"), "OCDS JSON",
                _l("One record per procurement process: its releases, compiled release and versioned release "
                   "(merged with ocdsmerge): an OCDS 1.1 record package, in pages."), fields=RECORD_FIELDS)
def procurement_records_json():
    after = _after()
    tail = {}
    rows = _stream(select(Record.process_id, Record.body).where(Record.process_id > after)
                   .order_by(Record.process_id))
    uri = external_url("procurement.procurement_records_json", **({"after": after} if after else {}))
    head = _head(uri, _published_date()) | {"packages": [external_url("procurement.procurement_json")]}
    return json_document(head, "records", _paged(rows, "procurement.procurement_records_json", tail),
                         lambda: tail)


# One release, one record ------------------------------------------------------------------

@opendata.route("/procurement/<ocid>/<int:number>.json")
def release_json(ocid, number):
    """A release at its permanent address: a package holding that release alone, as published."""
    release = releases.release_by_number(ocid, number)
    if release is None:
        abort(404)
    return json_document(_head(external_url("procurement.release_json", ocid=ocid, number=number), release.date),
                         "releases", [release.body])


@opendata.route("/procurement/<ocid>/record.json")
def record_json(ocid):
    record = releases.record_of(ocid)
    if record is None:
        abort(404)
    head = _head(external_url("procurement.record_json", ocid=ocid), record.updated_at)
    return json_document(head | {"packages": [external_url("procurement.procurement_json")]}, "records",
                         [record.body])


def _published(process_id):
    return processes.process_by_id(process_id, None)  # open data: only what the public may read


@opendata.route("/procurement/<int:process_id>/release.json")
def latest_release_json(process_id):
    """The process's newest release (an address older pages linked to)."""
    process = _published(process_id)
    latest = releases.releases_of(process)
    if not latest:
        abort(404)
    return redirect(external_url("procurement.release_json", ocid=latest[-1].ocid, number=latest[-1].number))


@opendata.route("/procurement/<int:process_id>/record.json")
def process_record_json(process_id):
    process = _published(process_id)
    record = db.session.get(Record, process.id)
    if record is None:
        abort(404)
    return redirect(external_url("procurement.record_json", ocid=record.ocid))


# The extension --------------------------------------------------------------------------------

@opendata.route("/procurement/extension.json")
def extension_json():
    return current_app.response_class((EXTENSION_DIR / "extension.json").read_bytes(), mimetype="application/json")


@opendata.route("/procurement/release-schema.json")
def extension_schema_json():
    return current_app.response_class((EXTENSION_DIR / "release-schema.json").read_bytes(),
                                      mimetype="application/json")


# The flat CSV ---------------------------------------------------------------------------------

CSV_FIELDS = {
    "ocid": _l("The process's Open Contracting id: its address in the OCDS files."),
    "reference": _l("The city's reference for the process."),
    "title": _l("What is bought."),
    "department": _l("The municipal department that buys."),
    "category": _l("The service category (the accreditation it needs), if any."),
    "procedure": _l("open, reserved (for the social economy), negotiated or co_design."),
    "phase": _l("Where the process is: tender, bids, award, contract, implementation, closed or cancelled."),
    "budget": _l("The budget, in the city's currency."),
    "bid_deadline": _l("The last day to bid."),
    "criteria": _l("The award criteria and their weights (out of 100)."),
    "social_weight": _l("How many of the 100 points go to social criteria."),
    "bids": _l("How many bids came in (shown once bidding has closed)."),
    "supplier": _l("The organisation awarded the contract."),
    "supplier_kind": _l("The kind of organisation (social co-operative, association, company…)."),
    "supplier_social_economy": _l("Whether the supplier belongs to the social economy."),
    "supplier_accredited": _l("Whether the supplier is accredited today for the service category."),
    "award_date": _l("The day of the award decision."),
    "award_value": _l("The value awarded."),
    "award_score": _l("The winner's weighted score, out of 100."),
    "tie": _l("Whether the top of the ranking was tied."),
    "override": _l("Whether a bid other than the top of the ranking was chosen (with a written justification)."),
    "contract_value": _l("The value of the signed contract."),
    "contract_start": _l("The first day of the contract."),
    "contract_end": _l("The last day of the contract."),
    "paid": _l("The total paid to the supplier so far."),
    "commitments_kept": _l("Social commitments of the contract found kept."),
    "commitments_missed": _l("Social commitments found missed."),
    "commitments_pending": _l("Social commitments not assessed yet."),
}


def _csv_rows():
    for p in processes.published_processes():
        award, contract = p.award, p.contract
        commitments = contract.commitments if contract else []
        yield [releases.ocid(p), p.reference, p.title, p.department.name, p.category.slug if p.category else "",
               p.procedure, p.phase, p.budget_cents / 100, p.bid_deadline.isoformat() if p.bid_deadline else "",
               "; ".join(f"{c.kind} {c.weight}" for c in p.criteria),
               sum(c.weight for c in p.criteria if c.kind_enum.social),
               len(p.bids) if p.phase != Phase.TENDER else "",
               award.supplier.name if award else "", award.supplier.kind if award else "",
               award.supplier.is_social_economy if award else "",
               awarding.accredited(p, award.supplier) if award and p.category else "",
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
                _l("One row per published process: criteria, supplier and whether it is social economy, "
                   "award, contract, payments and commitments."), fields=CSV_FIELDS)
def procurement_csv():
    return csv_response(list(CSV_FIELDS), _csv_rows(), "procurement.csv")


CALENDAR_NOTES = {
    "VEVENT": _l("One all-day event a tender: the last day bids are accepted."),
    "UID": _l("Stays the same for the same tender, so that a subscribed calendar updates it."),
    "SEQUENCE, LAST-MODIFIED": _l("Grow with each amendment of the tender (a deadline extended); a cancelled "
                                  "tender stays as STATUS:CANCELLED."),
    "URL": _l("The process's page."),
}


@opendata.route("/tender-deadlines.ics", _l("Tender deadlines (calendar)"), "iCalendar",
                _l("The bid deadline of every published tender, to subscribe to in a calendar."),
                fields=CALENDAR_NOTES)
def tender_deadlines_ics():
    return response(tender_deadlines_calendar(), "tender-deadlines.ics")


def dump_package(output) -> None:
    """Every release ever published as one package, for the command line (no pages: a file
    made on purpose may be as large as its maker wants)."""
    head = json.dumps(_head(external_url("procurement.procurement_json"), _published_date()), ensure_ascii=False)
    output.write(head[:-1] + ',"releases":[')
    for n, (body,) in enumerate(_stream(select(Release.body).order_by(Release.id))):
        output.write(("," if n else "") + body)
    output.write("]}\n")


# Red flags and the social-economy share (issue #18) ---------------------------------------------

FLAG_FIELDS = {
    "ocid": _l("The process's Open Contracting id: its address in the OCDS files."),
    "code": _l("Which flag: its meaning is on the red flags page, under the same code."),
    "raised": _l("When the flag was first raised (the flags are recomputed every night and after every change)."),
    "facts": _l("What raised it: the dates, amounts and names the rule found (amounts in cents)."),
}


@opendata.route("/procurement-flags.json", _l("Red flags in social procurement"), "JSON",
                _l("Every red flag standing on a published procurement process, with the facts that raised it."),
                fields=FLAG_FIELDS)
def flags_json():
    items = (releases.dumps({"ocid": ocid, "reference": reference, "code": flag.code,
                             "raised": releases.ocds_moment(flag.raised_at), "facts": flag.facts})
             for flag, reference, _title, ocid in flags.standing_flags())
    return json_document({"license": licence_url(), "flags": external_url("procurement.red_flags")}, "items", items)


SHARE_FIELDS = {
    "by": _l("How the row groups the awards: year (of the award decision), department or category."),
    "key": _l("The year, the procuring department or the service category."),
    "awards": _l("How many awards."),
    "social_awards": _l("How many of them went to social-economy organisations."),
    "value": _l("The value awarded, in the city's currency."),
    "social_value": _l("The part of it awarded to social-economy organisations."),
    "value_share": _l("That part as a percentage of the value awarded."),
    "contracts": _l("How many contracts were signed."),
    "social_contracts": _l("How many of them with social-economy organisations."),
}


def _share_rows():
    for by in ("year", "department", "category"):
        for s in monitoring.social_economy_shares(by):
            yield {"by": by, "key": str(s.key), "awards": s.awards, "social_awards": s.social_awards,
                   "value": s.value_cents / 100, "social_value": s.social_value_cents / 100,
                   "value_share": float(s.value_share) if s.value_share is not None else None,
                   "contracts": s.contracts, "social_contracts": s.social_contracts}


@opendata.route("/social-economy-share.csv", _l("Public money reaching the social economy"), "CSV",
                _l("The figures of the social procurement dashboard: the share of awarded value that goes to "
                   "social-economy organisations, per year, department and service category."), fields=SHARE_FIELDS)
def social_economy_share_csv():
    return csv_response(list(SHARE_FIELDS), ([row[k] for k in SHARE_FIELDS] for row in _share_rows()),
                        "social-economy-share.csv")


@opendata.route("/social-economy-share.json", _l("Public money reaching the social economy"), "JSON",
                _l("The figures of the social procurement dashboard, as JSON."), fields=SHARE_FIELDS)
def social_economy_share_json():
    return json_document({"license": licence_url(), "dashboard": external_url("procurement.dashboard")}, "shares",
                         (releases.dumps(row) for row in _share_rows()))
