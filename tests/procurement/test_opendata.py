"""Open Contracting data: every release and the package validate against the
OCDS 1.1 schemas (copied into tests/data/ocds-1.1, references resolved locally),
social criteria land in the standard and extension fields, and the CSV adds up.
(History, records and the OCDS tools: test_releases.py, test_ocds_tools.py.)"""
import csv
import io
import json
from datetime import datetime, time
from pathlib import Path

import pytest
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from app.i18n import city_timezone
from procurement import contracts, tenders
from procurement.models import Phase
from procurement.releases import SUSTAINABILITY_EXTENSION

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "ocds-1.1"
RELEASE = json.loads((SCHEMAS / "dereferenced-release-schema.json").read_text())
PACKAGE = json.loads((SCHEMAS / "release-package-schema.json").read_text())
RELEASE_URL = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"
# The package refers to the release schema by URL: serve it from the local copy, never the network.
REGISTRY = Registry().with_resources([
    (RELEASE_URL, Resource(RELEASE, specification=DRAFT4)),
    (RELEASE_URL.replace("https:", "http:"), Resource(RELEASE, specification=DRAFT4)),
])


def _errors(schema, document):
    validator = Draft4Validator(schema, registry=REGISTRY, format_checker=FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


@pytest.fixture
def register(city):
    """One process in every public phase, with a company among the bidders."""
    processes = {phase: city.process(phase, title=f"Service in {phase}")
                 for phase in ("tender", "bids", "award", "contract", "implementation")}
    processes["reserved"] = city.process("award", procedure="reserved", title="Reserved service")
    processes["open"] = city.process("award", bidders=[city.coop, city.company], title="Open service")
    contracts.record_metric(processes["implementation"], "People served", 40, unit="people", actor=city.official)
    city.process("planning", title="Still in planning")
    cancelled = city.process("tender", title="Cancelled service")
    tenders.cancel(cancelled, "No longer needed", actor=city.official)
    processes["cancelled"] = cancelled
    return processes


def latest(client, process) -> dict:
    """The process's newest release, through the address its page has always linked to."""
    answer = client.get(f"/open-data/procurement/{process.id}/release.json")
    assert answer.status_code == 302
    return client.get(answer.headers["Location"]).get_json()["releases"][0]


def test_the_package_and_every_release_validate(client, register):
    response = client.get("/open-data/procurement.json")
    assert response.status_code == 200
    package = response.get_json()
    assert _errors(PACKAGE, package) == []
    assert len({r["ocid"] for r in package["releases"]}) == len(register)  # the planning process is not public
    for release in package["releases"]:
        assert _errors(RELEASE, release) == [], release["ocid"]
        assert release["ocid"].startswith("ocds-procomun-villanova-PRC-")
    assert "Still in planning" not in response.get_data(as_text=True)


def test_each_release_and_record_is_served_and_valid(client, register):
    process = register["implementation"]
    answer = client.get(f"/open-data/procurement/{process.id}/release.json")
    package = client.get(answer.headers["Location"]).get_json()
    assert _errors(PACKAGE, package) == [] and package["releases"][0]["tag"] == ["implementationUpdate"]
    answer = client.get(f"/open-data/procurement/{process.id}/record.json")
    record = client.get(answer.headers["Location"]).get_json()
    compiled = record["records"][0]["compiledRelease"]
    assert compiled["tag"] == ["compiled"] and _errors(RELEASE, compiled) == []
    assert record["records"][0]["ocid"] == compiled["ocid"] == package["releases"][0]["ocid"]


def test_unpublished_processes_have_no_open_data(client, city):
    process = city.process("planning")
    assert client.get(f"/open-data/procurement/{process.id}/release.json").status_code == 404


def test_the_ocid_prefix_is_a_setting(app, client, city):
    app.config["PROCUREMENT_OCID_PREFIX"] = "ocds-abc123-roma"
    process = city.process("tender")
    assert latest(client, process)["ocid"] == f"ocds-abc123-roma-{process.reference}"
    # A process keeps the ocid of its first release: a published identifier never changes.
    app.config["PROCUREMENT_OCID_PREFIX"] = "ocds-other-prefix"
    tenders.cancel(process, "No longer needed", actor=city.official)
    assert latest(client, process)["ocid"] == f"ocds-abc123-roma-{process.reference}"


def test_social_criteria_and_the_award_are_in_the_release(client, register, city):
    process = register["contract"]
    release = latest(client, process)
    tender = release["tender"]
    assert tender["awardCriteria"] == "ratedCriteria"
    assert "price: 40%" in tender["awardCriteriaDetails"] and "social inclusion: 20%" in tender["awardCriteriaDetails"]
    goals = {s["goal"]: s["strategies"] for s in tender["sustainability"]}
    assert goals["social.disadvantagedEmploymentOpportunities"] == ["awardCriteria", "contractPerformanceConditions"]
    assert goals["economic.localEconomyPromotion"] == ["awardCriteria"]
    assert [c["weight"] for c in tender["weightedCriteria"]] == [40, 30, 20, 10]
    award = release["awards"][0]
    assert award["suppliers"] == [{"id": "la-tela", "name": "La Tela"}]
    assert award["value"] == {"amount": 100000.0, "currency": "EUR"}
    assert award["socialProcurement"]["ranking"][0] == {"organisation": "la-tela", "name": "La Tela",
                                                        "score": 87.0, "rank": 1}
    supplier = next(p for p in release["parties"] if p["id"] == "la-tela")
    assert supplier["roles"] == ["supplier", "tenderer"]
    assert (supplier["organisationKind"], supplier["socialEconomy"], supplier["accreditedForService"]) == (
        "social_coop_a", True, False)
    assert supplier["identifier"] == {"scheme": "X-PROCOMUN-VILLANOVA", "id": "la-tela", "legalName": "La Tela",
                                      "uri": "http://127.0.0.1:5000/organisations/la-tela"}
    assert [d["documentType"] for d in award["documents"]] == ["awardNotice"]
    assert award["documents"][0]["url"] == f"http://127.0.0.1:5000/procurement/{process.id}/award.pdf"
    contract = release["contracts"][0]
    assert contract["socialCommitments"][0]["status"] == "pending"
    assert contract["milestones"][0]["status"] == "scheduled"
    assert release["tag"] == ["contract"]


def test_reserved_and_cancelled_processes(client, register):
    # The newest release of each process (the package lists them oldest first).
    releases = {r["tender"]["title"]: r for r in client.get("/open-data/procurement.json").get_json()["releases"]}
    reserved = releases["Reserved service"]["tender"]
    assert reserved["procurementMethod"] == "selective" and reserved["socialProcurement"]["reserved"] is True
    cancelled = releases["Cancelled service"]
    assert cancelled["tag"] == ["tenderCancellation"] and cancelled["tender"]["status"] == "cancelled"
    assert cancelled["tender"]["amendments"][0]["rationale"] == "No longer needed"
    open_tender = releases["Service in tender"]
    assert "tenderers" not in open_tender["tender"]  # bidders are named once bidding has closed


def test_the_csv_has_a_row_per_published_process(client, register):
    response = client.get("/open-data/procurement.csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == len(register)
    won = next(r for r in rows if r["title"] == "Open service")
    assert won["supplier"] == "La Tela" and won["supplier_social_economy"] == "True"
    assert won["award_value"] == "100000.0" and won["social_weight"] == "30"
    assert won["phase"] == Phase.AWARD


def test_the_extension_is_served(client):
    extension = client.get("/open-data/procurement/extension.json").get_json()
    assert extension["schemas"] == ["release-schema.json"]
    # Its dependency is pinned to a commit: the same schema for every reader, for ever.
    assert extension["dependencies"] == [SUSTAINABILITY_EXTENSION] and "/b8d93a0edb8e" in SUSTAINABILITY_EXTENSION
    schema = client.get("/open-data/procurement/release-schema.json").get_json()
    assert "socialCommitments" in schema["definitions"]["Contract"]["properties"]


def test_the_validation_catches_a_bad_release(client, register):
    # Guard against a validator that accepts anything: a wrong tag and a missing ocid are reported.
    package = client.get("/open-data/procurement.json").get_json()
    release = dict(package["releases"][0], tag=["finished"])
    del release["ocid"]
    assert len(_errors(RELEASE, release)) == 2
    assert _errors(PACKAGE, {**package, "releases": [release]})


def test_every_field_outside_the_core_schema_is_documented_in_an_extension(client, register):
    """Fields OCDS 1.1 does not define come from the sustainability extension or are
    declared in procurement/ocds_extension/release-schema.json (and OCDS_EXTENSION.md)."""
    core = json.loads((SCHEMAS / "release-schema.json").read_text())["definitions"]
    root = Path(__file__).resolve().parents[2] / "procurement"
    ours = json.loads((root / "ocds_extension" / "release-schema.json").read_text())["definitions"]
    documented = (root / "OCDS_EXTENSION.md").read_text()
    sustainability = {"Tender": {"hasSustainability", "sustainability"}}
    objects = {"Tender": lambda r: [r["tender"]], "Award": lambda r: r.get("awards", []),
               "Contract": lambda r: r.get("contracts", []), "Organization": lambda r: r["parties"],
               "Implementation": lambda r: [c["implementation"] for c in r.get("contracts", [])
                                            if "implementation" in c]}
    extra = set()
    for release in client.get("/open-data/procurement.json").get_json()["releases"]:
        for name, items in objects.items():
            for item in items(release):
                for key in set(item) - set(core[name]["properties"]) - sustainability.get(name, set()):
                    assert key in ours[name]["properties"], f"{name}.{key} is not in the extension"
                    assert f"`{key}`" in documented or f"{key}[]" in documented or f".{key}" in documented, key
                    extra.add(f"{name}.{key}")
    assert extra == {"Tender.weightedCriteria", "Tender.socialProcurement", "Award.socialProcurement",
                     "Contract.socialCommitments", "Implementation.serviceMetrics", "Organization.organisationKind",
                     "Organization.socialEconomy", "Organization.accreditedForService"}


def test_every_field_of_the_extension_has_a_title_and_a_description(client):
    schema = client.get("/open-data/procurement/release-schema.json").get_json()
    missing = []

    def walk(node, path):
        for name, field in node.get("properties", {}).items():
            if not (field.get("title") and field.get("description")) and "$ref" not in field:
                missing.append(f"{path}.{name}")
            walk(field, f"{path}.{name}")
            if isinstance(field.get("items"), dict):
                walk(field["items"], f"{path}.{name}[]")
    for name, definition in schema["definitions"].items():
        walk(definition, name)
    assert missing == []
    assert schema["definitions"]["Tender"]["properties"]["weightedCriteria"]["title"] == "Weighted award criteria"


def test_end_dates_include_their_whole_last_day(client, register):
    # Bids are accepted all through the deadline day, and a contract's last day is one of its days:
    # an end date known only as a date ends at the day's last second in the city, a start date at its first.
    process = register["contract"]
    release = latest(client, process)
    period = release["contracts"][0]["period"]

    def local(moment):
        moment = datetime.fromisoformat(moment)
        assert moment.utcoffset() == moment.astimezone(city_timezone()).utcoffset()  # in the city's zone
        return moment.date(), moment.time()
    assert local(release["tender"]["tenderPeriod"]["endDate"]) == (process.bid_deadline, time(23, 59, 59))
    assert local(period["startDate"]) == (process.contract.period_start, time(0))
    assert local(period["endDate"]) == (process.contract.period_end, time(23, 59, 59))
    assert _errors(RELEASE, release) == []
