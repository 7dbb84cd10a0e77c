"""Schemathesis against /api/v1/openapi.json, in-process through the WSGI app:
requests generated from the API's own description, with a bearer token of an
official and of a co-op member of the demo city. No answer is a 500, and every
error is JSON of one shape."""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

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
                elif response.status_code >= 400:
                    body = response.json()
                    if not (isinstance(body, dict) and body.get("error") and body.get("message")):
                        problems.append(f"{where}: {response.status_code} without error/message: {body!r:.200}")
            check()
    assert operations > 10
    assert not problems, "\n".join(problems[:30])
    return operations, ran[0]


def test_the_api_survives_its_own_schema(app, capsys):
    operations, ran = run_schema(app, CASES["fast"])
    with capsys.disabled():
        print(f"\nschemathesis: {operations} operations, {ran} cases")


@pytest.mark.slow
def test_the_api_survives_many_cases_of_its_own_schema(app, capsys):
    operations, ran = run_schema(app, int(os.environ.get("FUZZ_CASES", CASES["slow"])))
    with capsys.disabled():
        print(f"\nschemathesis (slow): {operations} operations, {ran} cases")
