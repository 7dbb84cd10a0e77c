"""A tender that answers a council's need says so in its OCDS releases: the need as the planning
rationale and a related planning process at the need's public page; the package still validates
(the OCDS schema and libcoveocds with every additional check)."""
from datetime import timedelta

from app.i18n import city_today
from procurement import tenders

from ..procurement.conftest import CRITERIA
from ..procurement.ocds_tools import libcove, offline_extensions, unreadable_extensions
from ..procurement.test_opendata import PACKAGE, RELEASE, _errors, latest
from ..procurement.test_priority_needs import adopt_need

BASE = "http://127.0.0.1:5000"


def test_the_release_carries_the_need_and_validates(client, city, make_user, make_category):
    need = adopt_need(make_user, make_category, city.official)
    process = tenders.create_process(actor=city.official, title="Home care for the elderly", department=city.department,
                                     budget_cents=5_000_000, priority_need_id=need.id, category=city.category,
                                     description="Visits at home, seven days a week.")
    tenders.set_criteria(process, CRITERIA, actor=city.official)
    tenders.publish_tender(process, city_today() + timedelta(days=30), actor=city.official)
    release = latest(client, process)
    assert need.title in release["planning"]["rationale"] and "Visits at home" in release["planning"]["rationale"]
    [related] = release["relatedProcesses"]
    assert related["relationship"] == ["planning"] and related["uri"] == f"{BASE}/councils/needs/{need.id}"
    assert client.get(f"/councils/needs/{need.id}").status_code == 200
    assert _errors(RELEASE, release) == []
    package = client.get("/open-data/procurement.json").get_json()
    assert _errors(PACKAGE, package) == []
    with offline_extensions(client, BASE):
        report = libcove(package)
        assert report["validation_errors"] == [] and unreadable_extensions(package) == {}
        assert dict(report["additional_checks"]) == {}
        assert report["additional_closed_codelist_values"] == {}
        assert report["additional_fields"] == []


def test_a_tender_answering_no_need_has_no_related_process(client, city):
    release = latest(client, city.process("tender"))
    assert "relatedProcesses" not in release
