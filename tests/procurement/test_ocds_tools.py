"""The demo city's procurement open data, checked with the OCDS community's own tools, offline
(tests/procurement/ocds_tools.py): the Data Review Tool's library with every additional check
finds no validation error, no empty field and no extension it cannot read, in the release
package and in the record package; and `ocdskit compile` on the release package gives the very
records the platform publishes."""
import pytest

from app import demo as core_demo
from procurement import demo, demo_flags

from .ocds_tools import libcove, ocdskit_compile, offline_extensions, unreadable_extensions

BASE = "http://127.0.0.1:5000"  # PROCOMUN_BASE_URL in the tests


@pytest.fixture
def packages(app, client):
    demo.load(core_demo.load())
    releases = client.get("/open-data/procurement.json").get_json()
    records = client.get("/open-data/procurement-records.json").get_json()
    assert len(releases["releases"]) > 30 and len(records["records"]) == len(demo.PROCESSES) + len(demo_flags.CASES) - 1
    with offline_extensions(client, BASE):
        yield releases, records


def _clean(report: dict, package: dict) -> None:
    assert report["validation_errors"] == []
    assert unreadable_extensions(package) == {}
    assert dict(report["additional_checks"]) == {}  # no empty_field, the one additional check there is
    assert report["extensions"]["invalid_extension"] == {}
    assert [e["url"] for e in report["extensions"]["extensions"]] == [
        "https://raw.githubusercontent.com/open-contracting-extensions/ocds_sustainability_extension/"
        "b8d93a0edb8e0ac2f27f733cccf3884e392346e9/extension.json",
        f"{BASE}/open-data/procurement/extension.json"]
    assert report["additional_closed_codelist_values"] == {}


def test_libcove_finds_nothing_wrong_in_the_release_package(packages):
    releases, _records = packages
    report = libcove(releases)
    _clean(report, releases)
    assert report["additional_fields"] == []  # every field is OCDS's or an extension's


def test_libcove_finds_nothing_wrong_in_the_record_package(packages):
    _releases, records = packages
    _clean(libcove(records, record_package=True), records)


def test_libcove_does_report_what_is_wrong(packages):
    # The same checks, on a damaged copy, must say so: an empty string, a bad date, an unknown extension.
    releases, _records = packages
    missing = f"{BASE}/open-data/procurement/missing/extension.json"
    damaged = dict(releases, extensions=releases["extensions"] + [missing])
    first = dict(damaged["releases"][0], date="yesterday")
    first["tender"] = dict(first["tender"], description=" ")
    damaged["releases"] = [first] + damaged["releases"][1:]
    report = libcove(damaged)
    assert report["validation_errors"] and report["additional_checks"]["empty_field"]
    assert list(unreadable_extensions(damaged)) == [missing]


def test_ocdskit_compiles_the_platform_s_records_from_its_releases(packages):
    releases, records = packages
    compiled = {r["ocid"]: r for r in ocdskit_compile(releases)["records"]}
    published = {r["ocid"]: r for r in records["records"]}
    assert compiled.keys() == published.keys()
    for ocid, record in published.items():
        assert record["compiledRelease"] == compiled[ocid]["compiledRelease"], ocid
        assert record["versionedRelease"] == compiled[ocid]["versionedRelease"], ocid
        assert [(r["date"], r["tag"]) for r in record["releases"]] == [
            (r["date"], r["tag"]) for r in compiled[ocid]["releases"]]
