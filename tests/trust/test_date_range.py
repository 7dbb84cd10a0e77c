"""One range for every date a person or a program enters (PROCOMUN_DATE_MIN_YEAR to _MAX_YEAR,
1900 to 2200 by default): every date field of every form the demo city renders, and every date
of every API body, is fed the calendar's extremes by hypothesis. Out of range: refused with the
translated message beside the field (the form again, 422; JSON 422 naming the field), nothing
written; never a 500. In range: never refused for its date."""
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.accounts import operations as accounts
from app.accounts.models import Role
from app.extensions import db
from councils import operations as councils
from councils.models import Meeting

from .crawl import PEOPLE, demo_client, load_demo, walk
from .test_fuzz_forms import SKIP_ACTIONS, _row_counts

CASES = 12
RANGE_MESSAGE = {"en": "Give a date from January 1, 1900 to December 31, 2200.",
                 "es": "Indica una fecha del 1 de enero de 1900 al 31 de diciembre de 2200."}
OUTSIDE_DAYS = [date(1, 1, 1), date(1, 1, 2), date(1899, 12, 31), date(2201, 1, 1), date(9999, 12, 31)]
OFFSETS = ["+14:00", "-12:00", "Z", "+00:00", "+05:45"]


def _outside_days():
    return st.one_of(st.sampled_from(OUTSIDE_DAYS), st.dates(date(1, 1, 1), date(1899, 12, 31)),
                     st.dates(date(2201, 1, 1), date(9999, 12, 31)))


def _inside_days():
    return st.one_of(st.sampled_from([date(1900, 1, 1), date(2200, 12, 31)]),
                     st.dates(date(1900, 1, 1), date(2200, 12, 31)))


def _typed(kind: str, day: date, clock: str = "00:00") -> str:
    return f"{day.isoformat()}T{clock}" if kind == "datetime-local" else day.isoformat()  # years < 1000 padded


def _date_forms(app):
    """One of each form with a date field (by person, action and fields), as the demo city renders it."""
    load_demo(app)
    found = {}
    for who in PEOPLE:
        client = demo_client(app, who)
        for visit in walk(app, who, per_route=1, client=client):
            for form in visit.forms:
                action = form.action.split("?")[0]
                dates = [name for name, (kind, _c, _d) in form.fields.items() if kind in ("date", "datetime-local")]
                if form.method != "POST" or not dates or action.startswith(SKIP_ACTIONS):
                    continue
                found.setdefault((who, re.sub(r"\d+", "N", action), tuple(sorted(form.fields))),
                                 (who, client, form, dates))
    return list(found.values())


def _filled(form, date_fields) -> dict:
    """The form as its page renders it, every other date a plausible one and empty texts filled,
    so that a date out of range is the form's only fault."""
    data = {}
    for name, (kind, choices, default) in form.fields.items():
        if kind in ("date", "datetime-local"):
            data[name] = _typed(kind, date.today() + timedelta(days=30), "18:00")
        elif kind == "checkbox":
            if default and choices:
                data[name] = choices[0]
        elif kind in ("select", "radio"):
            data[name] = default or next((c for c in choices if c), "")
        elif kind == "number":
            data[name] = default or "1"
        elif kind == "email":
            data[name] = default or "citizen@villanova.example"
        elif kind != "file":
            data[name] = default or "Range check"
    return data


def test_every_date_field_of_every_form_refuses_the_calendars_ends(app):
    forms = _date_forms(app)
    assert len(forms) >= 12, [f.action for _w, _c, f, _d in forms]
    problems, tried = [], [0]
    for who, client, form, date_fields in forms:
        for field in date_fields:
            kind = form.fields[field][0]

            @settings(max_examples=CASES, derandomize=True, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck))
            @given(day=_outside_days(), language=st.sampled_from(["en", "es"]))
            def case(day, language):
                tried[0] += 1
                data = _filled(form, date_fields)
                data[field] = _typed(kind, day, "23:59")
                before = _row_counts()
                response = client.post(form.action, data=data, headers={"Accept-Language": language})
                where = f"{who} POST {form.action} {field}={data[field]} [{language}]"
                page = response.get_data(as_text=True)
                message = re.escape(RANGE_MESSAGE[language])
                if response.status_code in (302, 303):
                    # A small form inside a record's page (step down, publish results): refused, it
                    # goes back to the page, which says why at its top.
                    page = client.get(response.headers["Location"], headers={"Accept-Language": language})
                    shown = re.search(rf'class="alert alert-error">{message}', page.get_data(as_text=True))
                else:
                    shown = re.search(rf'id="{re.escape(field)}-error"[^>]*>\s*{message}', page)
                if response.status_code >= 500:
                    problems.append(f"{where}: {response.status_code}")
                elif _row_counts() != before:
                    problems.append(f"{where}: refused but rows changed")
                elif not shown:
                    problems.append(f"{where}: {response.status_code} without the range message")

            case()
    assert not problems, "\n".join(problems[:30])
    print(f"\ndate range, web: {len(forms)} forms, {tried[0]} cases")


def test_a_date_inside_the_range_is_never_refused_for_it(app):
    forms = _date_forms(app)
    problems = []
    for who, client, form, date_fields in forms:
        for field in date_fields:
            kind = form.fields[field][0]
            for day in (date(1900, 1, 1), date(2200, 12, 31)):
                data = _filled(form, date_fields)
                data[field] = _typed(kind, day, "12:00")
                response = client.post(form.action, data=data)
                if response.status_code >= 500 or RANGE_MESSAGE["en"] in response.get_data(as_text=True):
                    problems.append(f"{who} POST {form.action} {field}={data[field]}: {response.status_code}")
    assert not problems, "\n".join(problems)


# The API ------------------------------------------------------------------------------------

def _api_date_fields(app) -> list[tuple[str, str, str, str]]:
    """(method, path, field, format) for every date in every JSON body the API documents."""
    spec = app.extensions["procomun_api"].spec.to_dict()
    schemas = spec["components"]["schemas"]
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body and "$ref" in body:
                body = schemas[body["$ref"].split("/")[-1]]
            for name, prop in ((body or {}).get("properties") or {}).items():
                if prop.get("format") in ("date", "date-time"):
                    found.append((method.upper(), path, name, prop["format"]))
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]*_id\}", "1", re.sub(r"\{slug\}", "some-council", path))


@pytest.fixture
def everyone(app, make_user, make_org):
    user = make_user(*Role, organisations=[make_org()])
    token, _row = accounts.issue_token(user, "range")
    db.session.commit()
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def _written(day: date, fmt: str, clock: str, offset: str) -> str:
    return day.isoformat() if fmt == "date" else f"{day.isoformat()}T{clock}{offset}"


def test_every_date_of_every_api_body_refuses_the_calendars_ends(app, everyone):
    client, headers = everyone
    fields = _api_date_fields(app)
    assert len(fields) >= 5, fields
    problems = []
    for method, path, field, fmt in fields:
        @settings(max_examples=CASES, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(day=_outside_days(), offset=st.sampled_from(OFFSETS), language=st.sampled_from(["en", "es"]),
               clock=st.sampled_from(["00:00:00", "23:59:59", "12:30:00"]))
        def case(day, offset, language, clock):
            value = _written(day, fmt, clock, offset)
            response = client.open(_concrete(path), method=method, json={field: value},
                                   headers={**headers, "Accept-Language": language})
            where = f"{method} {path} {field}={value}"
            body = response.get_json(silent=True) or {}
            if response.status_code != 422:
                problems.append(f"{where}: {response.status_code}")
            elif body.get("errors", {}).get("json", {}).get(field) != [RANGE_MESSAGE[language]]:
                problems.append(f"{where}: {body}")

        case()
        inside = client.open(_concrete(path), method=method, headers=headers,
                             json={field: _written(date(2200, 12, 31), fmt, "23:59:59", "-12:00")})
        if field in ((inside.get_json(silent=True) or {}).get("errors", {}).get("json", {})):
            problems.append(f"{method} {path} {field}: a date in range refused: {inside.get_json()}")
    assert not problems, "\n".join(problems[:30])


@pytest.mark.parametrize("starts_at", ["9999-12-31T23:30:00+00:00", "0001-01-01T00:00:00+14:00",
                                       "9999-12-31T23:59:59-12:00", "1899-12-31T23:59:59-01:00"])
def test_a_meeting_at_the_calendars_end_is_refused_beside_its_field(app, everyone, make_user, starts_at):
    """The probe's meeting: 201 before, and the council's pages failing for everyone after."""
    client, headers = everyone
    council = councils.create_council("far-council", "Far Council", seats_per_side=1, first_term_start=date(2020, 1, 1),
                                      first_chair_side="government", actor=make_user(Role.OFFICIAL))
    response = client.post(f"/api/v1/councils/{council.slug}/meetings", headers=headers,
                           json={"title": "Far away", "starts_at": starts_at})
    assert response.status_code == 422
    assert response.json["field"] == "starts_at"
    assert response.json["errors"]["json"]["starts_at"] == [RANGE_MESSAGE["en"]]
    assert db.session.query(Meeting).count() == 0
    later = datetime(2200, 12, 31, 23, 0, tzinfo=timezone.utc).isoformat()
    assert client.post(f"/api/v1/councils/{council.slug}/meetings", headers=headers,
                       json={"title": "Late but fine", "starts_at": later}).status_code == 201
