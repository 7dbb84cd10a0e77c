"""Schemathesis against /api/v1/openapi.json, in-process through the WSGI app:
requests generated from the API's own description, with a bearer token of an
official and of a co-op member of the demo city. No answer is a 500, every
error is JSON of one shape, and every successful answer is what the document
says it is (schemathesis's response_schema_conformance), as a generated client
would read it. Every GET is also called on the demo city's own records."""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import select

from app.accounts import operations as accounts
from app.accounts.models import User
from app.extensions import db

from .crawl import PEOPLE, load_demo

CASES = {"fast": 4, "slow": 60}


def run_schema(app, cases):
    load_demo(app)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    tokens = {}
    for who in ("admin", "coop", "citizen"):
        user = db.session.query(User).filter_by(email=PEOPLE[who]).one()
        tokens[who] = accounts.issue_token(user, "schemathesis")[0]
    db.session.commit()
    problems, ran, operations = [], [0], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for who, token in tokens.items():
            @settings(max_examples=cases, derandomize=True, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def check(case):
                ran[0] += 1
                where = f"{who} {case.method} {case.formatted_path} {case.query!r} {case.body!r:.120}"
                try:
                    response = case.call(headers={"Authorization": f"Bearer {token}"})
                except Exception as error:  # the app raised: a 500 in production
                    problems.append(f"{where}: raised {error!r:.200}")
                    return
                if response.status_code >= 500:
                    problems.append(f"{where}: {response.status_code}")
                elif response.status_code < 300:
                    problems.extend(_nonconforming(case, response, where))
                elif response.status_code >= 400:
                    body = response.json()
                    if not (isinstance(body, dict) and body.get("error") and body.get("message")):
                        problems.append(f"{where}: {response.status_code} without error/message: {body!r:.200}")
            check()
    assert operations > 10
    assert not problems, "\n".join(problems[:30])
    return operations, ran[0]


def _nonconforming(case, response, where) -> list[str]:
    try:
        case.validate_response(response, checks=[response_schema_conformance])
    except Exception as error:  # schemathesis raises a group of failures; each is reported
        return [f"{where}: {response.status_code} does not match the document: {error!s:.300}"]
    return []


def _demo_values() -> dict:
    """Path parameters naming real records of the demo city, by path prefix and name."""
    from app.organisations.models import Organisation
    from councils.models import Council, Meeting, Motion
    from pacts.models import Pact
    from procurement.models import Process
    from vouchers.models import Transfer

    def ids(column, *where):
        return [str(v) for v in db.session.execute(select(column).where(*where).order_by(column).limit(4)).scalars()]
    return {
        ("/api/v1/organisations", "slug"): ids(Organisation.slug),
        ("/api/v1/pacts", "pact_id"): ids(Pact.id, Pact.state != "draft"),
        ("/api/v1/councils", "slug"): ids(Council.slug),
        ("/api/v1/councils", "meeting_id"): ids(Meeting.id),
        ("/api/v1/councils", "motion_id"): ids(Motion.id),
        ("/api/v1/procurement", "process_id"): ids(Process.id, Process.published_at.is_not(None)),
        ("/api/v1/books", "transfer_id"): ids(Transfer.id),
    }


def test_every_get_answers_what_its_document_says_on_real_records(app):
    """Each GET operation, called by each demo account on the demo city's records: every 200 is
    checked against the operation's documented answer."""
    load_demo(app)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    values = _demo_values()
    tokens = {}
    for who in ("admin", "coop", "citizen"):
        user = db.session.query(User).filter_by(email=PEOPLE[who]).one()
        tokens[who] = accounts.issue_token(user, "conformance")[0]
    db.session.commit()
    problems, checked, gets = [], 0, 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "GET":
            continue
        gets += 1
        names = [p.name for p in operation.path_parameters]
        prefix = "/".join(operation.path.split("/")[:4])
        choices = [values[(prefix, name)] for name in names]
        combos = [dict(zip(names, combo)) for combo in zip(*choices)] if names else [{}]
        assert combos, f"no demo record for {operation.path}"
        for who, token in tokens.items():
            for parameters in combos:
                case = operation.Case(path_parameters=parameters)
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                where = f"{who} GET {case.formatted_path}"
                assert response.status_code < 500, where
                if response.status_code == 200:
                    checked += 1
                    problems.extend(_nonconforming(case, response, where))
    assert gets >= 20 and checked >= 60, (gets, checked)
    assert not problems, "\n".join(problems[:30])


def test_the_api_survives_its_own_schema(app, capsys):
    operations, ran = run_schema(app, CASES["fast"])
    with capsys.disabled():
        print(f"\nschemathesis: {operations} operations, {ran} cases")


@pytest.mark.slow
def test_the_api_survives_many_cases_of_its_own_schema(app, capsys):
    operations, ran = run_schema(app, int(os.environ.get("FUZZ_CASES", CASES["slow"])))
    with capsys.disabled():
        print(f"\nschemathesis (slow): {operations} operations, {ran} cases")
