"""A municipal department's head, named by an official on the department's page: overdue steps of
the department are escalated to them (accountability/deadlines.py). Audited; only an official
account heads a department; a bad email comes back beside its field."""
import json

import pytest

from app.accounts.models import Role
from app.audit.operations import history
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.organisations import operations as ops
from app.organisations.models import Organisation

from ..conftest import login, post_form


@pytest.fixture
def department(app, make_org):
    return make_org("social-services", "municipal_department", name="Social Services")


def test_an_official_names_and_clears_the_head_and_the_trail_keeps_both(app, department, make_user):
    official, head = make_user(Role.OFFICIAL), make_user(Role.OFFICIAL, name="Hanna Head")
    ops.set_department_head(department, head.email, actor=official)
    assert db.session.get(Organisation, department.id).head_id == head.id
    ops.set_department_head(department, "", actor=official)
    assert db.session.get(Organisation, department.id).head_id is None
    trail = [e for e in history("organisations", department.id) if e.action == "organisation.head_set"]
    assert [json.loads(e.after)["head_id"] for e in trail] == [head.id, None]
    assert trail[0].actor_id == official.id and json.loads(trail[1].before)["head_id"] == head.id


def test_who_may_name_and_who_may_be_named(app, department, make_user, make_org):
    official = make_user(Role.OFFICIAL)
    with pytest.raises(NotAllowed):
        ops.set_department_head(department, official.email, actor=make_user(Role.CITIZEN))
    with pytest.raises(Invalid) as error:
        ops.set_department_head(department, make_user(Role.CITIZEN).email, actor=official)
    assert error.value.field == "email"
    with pytest.raises(Invalid):
        ops.set_department_head(department, "nobody@example.org", actor=official)
    with pytest.raises(Invalid):
        ops.set_department_head(make_org("la-tela"), official.email, actor=official)
    assert db.session.get(Organisation, department.id).head_id is None


@pytest.mark.parametrize("language, words", [
    ("en", ("Head of Social Services", "No head is named.")),
    ("es", ("Responsable de Social Services", "No hay ningún responsable nombrado.")),
    ("it", ("Responsabile di Social Services", "Nessun responsabile è nominato.")),
    ("ca", ("Responsable de Social Services", "No hi ha cap responsable nomenat.")),
])
def test_the_page_in_four_languages(app, department, make_user, language, words):
    official = make_user(Role.OFFICIAL, locale=language)
    client = app.test_client()
    login(client, official.email)
    answer = client.get("/organisations/social-services/head", headers={"Accept-Language": language})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and all(w in page for w in words), page[:3000]
    show = client.get("/organisations/social-services", headers={"Accept-Language": language}).get_data(as_text=True)
    assert 'href="/organisations/social-services/head"' in show


def test_the_form_saves_and_a_bad_email_comes_back_beside_its_field(app, department, make_user):
    official, head = make_user(Role.OFFICIAL), make_user(Role.OFFICIAL, name="Hanna Head")
    citizen = make_user(Role.CITIZEN)
    client = app.test_client()
    login(client, official.email)
    refused = post_form(client, "/organisations/social-services/head", {"email": citizen.email})
    assert refused.status_code == 422
    assert "must be a city official" in refused.get_data(as_text=True)
    assert db.session.get(Organisation, department.id).head_id is None
    saved = post_form(client, "/organisations/social-services/head", {"email": head.email})
    assert saved.status_code == 302
    assert db.session.get(Organisation, department.id).head_id == head.id
    assert "Hanna Head" in client.get("/organisations/social-services").get_data(as_text=True)
    # A stranger to the role is refused before any form is read.
    other = app.test_client()
    login(other, citizen.email)
    assert post_form(other, "/organisations/social-services/head", {"email": citizen.email}).status_code == 403
    assert db.session.get(Organisation, department.id).head_id == head.id
