"""The role matrix: every route × anonymous and every role.

Generated from the URL map, so a new route fails this test until its module's
tests/<module>/matrix.py says who it is for. For each route the test checks
that the declared rule (the decorator on the view) is the expected one, and
that the app really answers each identity accordingly."""
import importlib
from dataclasses import dataclass
from datetime import date

from app.accounts import operations as accounts
from app.accounts.models import Role, User
from app.config import MODULES
from app.extensions import db
from app.i18n import city_today
from app.security import Access

from .conftest import csrf_token, login
from .matrix import ANY_USER, IDENTITIES, PUBLIC

# Framework routes, not ours: the static files and the OpenAPI document (public by design).
FRAMEWORK = {"static", "api-docs.openapi_json"}


@dataclass
class Ctx:
    make_user: object
    make_org: object
    make_category: object
    today: date


def _expected_tables(ctx):
    expected, samples = {}, {}
    for package in ("app", "moderation", *MODULES):  # the core's, moderation's (a core package), each module's
        try:
            matrix = importlib.import_module(f"tests.{package}.matrix")
        except ModuleNotFoundError:
            continue
        expected.update(matrix.EXPECTED)
        samples.update(matrix.samples(ctx))
    return expected, samples


def _allowed(rule, identity) -> bool:
    if rule == PUBLIC:
        return True
    if identity == "anonymous":
        return False
    return rule == ANY_USER or Role(identity) in rule


def _declared_rule(access: Access):
    if not access.login:
        return PUBLIC
    return ANY_USER if not access.roles else access.roles


def _users(make_user, make_org):
    users = {}
    for role in Role:
        orgs = [make_org(f"matrix-{role.value.replace('_', '-')}")] if role == Role.ORG_MEMBER else []
        users[role.value] = make_user(role, organisations=orgs, email=f"matrix-{role.value}@example.org")
    return users


def _clients(app, users):
    """A signed-in browser per identity, with its CSRF token; and a bearer token for the API."""
    clients = {"anonymous": app.test_client()}
    for name, user in users.items():
        clients[name] = app.test_client()
        login(clients[name], user.email)
    return {name: (client, csrf_token(client)) for name, client in clients.items()}


def _auth_versions(users) -> dict:
    """Each account's auth version: it moves on when a write signs the account out everywhere."""
    db.session.commit()
    return {name: db.session.get(User, user.id).auth_version for name, user in users.items()}


def _refused(response, api: bool, identity: str) -> bool:
    if api:
        return response.status_code in (401, 403)
    if identity == "anonymous":
        return response.status_code == 302 and "/account/login" in response.headers.get("Location", "")
    return response.status_code == 403


def test_every_route_has_a_rule_and_keeps_it(app, make_user, make_org, make_category):
    ctx = Ctx(make_user, make_org, make_category, city_today())
    expected, samples = _expected_tables(ctx)
    users = _users(make_user, make_org)
    browsers, versions = _clients(app, users), _auth_versions(users)
    bearer = {"anonymous": {}} | {
        name: {"Authorization": f"Bearer {accounts.issue_token(user, 'matrix')[0]}"}
        for name, user in users.items()}
    problems, checked = [], 0

    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if endpoint in FRAMEWORK:
            continue
        view = app.view_functions[endpoint]
        access = getattr(view, "access", None)
        if access is None:
            problems.append(f"{endpoint}: the view declares no access rule")
            continue
        if endpoint not in expected:
            problems.append(f"{endpoint}: missing from its tests/<module>/matrix.py EXPECTED")
            continue
        if _declared_rule(access) != expected[endpoint]:
            problems.append(f"{endpoint}: declared {_declared_rule(access)}, expected {expected[endpoint]}")
        values = {}
        if rule.arguments:
            values = samples.get(endpoint)
            if values is None or not set(rule.arguments) <= set(values):
                problems.append(f"{endpoint}: no sample URL values for {sorted(rule.arguments)}")
                continue
        with app.test_request_context():
            url = app.url_for(endpoint, **{k: values[k] for k in rule.arguments})
        # Every method of the route: a page's GET and its form's POST, an API's GET and its writes.
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}, key=lambda m: m != "GET"):
            # Writes may end a session (sign out, password change): each gets fresh browsers, and
            # since a sign-out ends every session of the account, the shared ones are renewed after it.
            if method == "GET" and _auth_versions(users) != versions:
                browsers, versions = _clients(app, users), _auth_versions(users)
            clients = browsers if method == "GET" else _clients(app, users)
            for identity in IDENTITIES:
                client, token = clients[identity]
                headers = bearer[identity] if access.api else {"X-CSRFToken": token}
                if method == "GET":
                    response = client.get(url, headers=headers)
                elif access.api:
                    response = client.open(url, method=method, headers=headers, json={})
                else:
                    response = client.open(url, method=method, headers=headers, data={"csrf_token": token})
                checked += 1
                if response.status_code >= 500:
                    problems.append(f"{method} {url} as {identity}: {response.status_code}")
                    continue
                allowed = _allowed(expected[endpoint], identity)
                refused = _refused(response, access.api, identity)
                where = f"{method} {url} as {identity}"
                if allowed and refused:
                    problems.append(f"{where}: refused ({response.status_code}) but should be allowed")
                if not allowed and not refused:
                    problems.append(f"{where}: answered {response.status_code} but should be refused")
    assert not problems, "\n".join(problems)
    assert checked >= len(IDENTITIES) * len(expected) * 0.9
    print(f"role matrix: {len(expected)} routes, {checked} requests")
