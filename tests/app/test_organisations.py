from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.accounts.models import Role
from app.audit.operations import history
from app.errors import Invalid, InvalidTransition
from app.extensions import db
from app.i18n import city_today
from app.organisations import operations as ops
from app.organisations.defaults import ensure_defaults
from app.organisations.models import Accreditation

from ..conftest import post_form


@pytest.fixture
def checklist(app):
    ensure_defaults()
    return {c.slug: True for c in ops.criteria()}


def test_accreditation_needs_every_criterion_of_the_checklist(app, make_org, checklist):
    coop = make_org("coop-a")
    category = ops.category_by_slug("elder-care")
    until = city_today() + timedelta(days=365)
    partial = dict(checklist, **{"open-books": False})
    with pytest.raises(Invalid, match="open books") as error:
        ops.accredit(coop, category, until, checklist=partial)
    assert error.value.field == "checklist"
    assert not ops.is_accredited(coop.id, "elder-care")
    ops.accredit(coop, category, until, checklist=checklist, wage_ratio="4.5")
    assert ops.is_accredited(coop.id, "elder-care")
    assert not ops.is_accredited(coop.id, "childcare")
    assert not ops.is_accredited(coop.id, "elder-care", until + timedelta(days=1))


def test_wage_ratio_above_the_city_maximum_is_refused(app, make_org, checklist):
    coop = make_org()
    category = ops.category_by_slug("home-care")
    with pytest.raises(Invalid, match="1:8") as error:
        ops.accredit(coop, category, city_today() + timedelta(days=30), checklist=checklist, wage_ratio="8.5")
    assert error.value.field == "wage_ratio"
    acc = ops.accredit(coop, category, city_today() + timedelta(days=30), checklist=checklist, wage_ratio="8")
    assert acc.wage_ratio == Decimal("8")


def test_validity_must_end_after_it_starts(app, make_org, checklist):
    with pytest.raises(Invalid) as error:
        ops.accredit(make_org(), ops.category_by_slug("childcare"), date(2020, 1, 1),
                     valid_from=date(2021, 1, 1), checklist=checklist)
    assert error.value.field == "valid_until"


def test_suspend_reinstate_revoke_keep_a_history_and_refuse_illegal_moves(app, make_org, make_user, checklist):
    official = make_user(Role.OFFICIAL)
    coop = make_org()
    acc = ops.accredit(coop, ops.category_by_slug("childcare"), city_today() + timedelta(days=90),
                       checklist=checklist, actor=official)
    with pytest.raises(Invalid):
        ops.suspend(acc, "  ", actor=official)
    ops.suspend(acc, "Inspection pending", actor=official)
    assert not ops.is_accredited(coop.id, "childcare")
    with pytest.raises(InvalidTransition):
        ops.suspend(acc, "again", actor=official)
    ops.reinstate(acc, "Inspection passed", actor=official)
    assert ops.is_accredited(coop.id, "childcare")
    ops.revoke(acc, "Wage ratio breached", actor=official)
    with pytest.raises(InvalidTransition):
        ops.reinstate(acc, "please", actor=official)
    assert [e.action for e in acc.events] == ["granted", "suspended", "reinstated", "revoked"]
    assert [e.reason for e in acc.events][1:] == ["Inspection pending", "Inspection passed", "Wage ratio breached"]
    actions = [e.action for e in history("accreditations", acc.id)]
    assert actions == ["accreditation.granted", "accreditation.suspended",
                       "accreditation.reinstated", "accreditation.revoked"]
    # A new accreditation after revocation is a renewal of the same row, recorded as such.
    ops.accredit(coop, ops.category_by_slug("childcare"), city_today() + timedelta(days=30), checklist=checklist)
    assert ops.is_accredited(coop.id, "childcare")
    assert db.session.query(Accreditation).count() == 1


def test_officials_accredit_through_the_form(client_as, make_org, checklist):
    official = client_as(Role.OFFICIAL)
    coop = make_org("coop-form", name="Coop Form")
    until = (city_today() + timedelta(days=200)).isoformat()
    data = {"category": "elder-care", "valid_from": city_today().isoformat(), "valid_until": until,
            "checklist": ["member-control", "open-books"], "wage_ratio": "3"}
    response = post_form(official, "/organisations/coop-form/accredit", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="checklist-error"' in page
    assert not ops.is_accredited(coop.id, "elder-care")
    data["checklist"] = list(checklist)
    response = post_form(official, "/organisations/coop-form/accredit", data)
    assert response.status_code == 302
    assert ops.is_accredited(coop.id, "elder-care")
    public = official.get("/organisations/accredited?category=elder-care").get_data(as_text=True)
    assert "Coop Form" in public


def test_suspension_through_the_page_needs_a_reason(client_as, make_org, checklist):
    official = client_as(Role.OFFICIAL)
    coop = make_org("coop-s")
    acc = ops.accredit(coop, ops.category_by_slug("elder-care"), city_today() + timedelta(days=9), checklist=checklist)
    post_form(official, f"/organisations/accreditations/{acc.id}/suspend", {"reason": ""})
    assert db.session.get(Accreditation, acc.id).status == "active"
    post_form(official, f"/organisations/accreditations/{acc.id}/suspend", {"reason": "Complaint under review"})
    assert db.session.get(Accreditation, acc.id).status == "suspended"
    page = official.get("/organisations/coop-s").get_data(as_text=True)
    assert "Complaint under review" in page


def test_register_an_organisation_refuses_a_taken_slug(client_as, make_org):
    official = client_as(Role.OFFICIAL)
    make_org("taken")
    response = post_form(official, "/organisations/new", {"slug": "taken", "name": "Another", "kind": "association"})
    assert 'id="slug-error"' in response.get_data(as_text=True)
    response = post_form(official, "/organisations/new", {"slug": "new-assoc", "name": "New Assoc",
                                                          "kind": "association", "neighbourhood": "Navile"})
    assert response.status_code == 302
    assert ops.organisation_by_slug("new-assoc").neighbourhood == "Navile"


def test_public_register_filters_and_open_data(client, make_org, checklist):
    coop = make_org("coop-pub", name="Public Coop", kind="social_coop_b")
    make_org("company-pub", name="Public Company", kind="company")
    ops.accredit(coop, ops.category_by_slug("work-integration"), city_today() + timedelta(days=10), checklist=checklist)
    page = client.get("/organisations/?category=work-integration").get_data(as_text=True)
    assert "Public Coop" in page and "Public Company" not in page
    page = client.get("/organisations/?kind=company").get_data(as_text=True)
    assert "Public Company" in page and "Public Coop" not in page
    rows = client.get("/open-data/accreditations.json").json["accreditations"]
    assert rows == [{"organisation": "coop-pub", "organisation_name": "Public Coop", "kind": "social_coop_b",
                     "social_economy": True, "category": "work-integration",
                     "valid_from": city_today().isoformat(),
                     "valid_until": (city_today() + timedelta(days=10)).isoformat()}]
    csv = client.get("/open-data/accreditations.csv").get_data(as_text=True)
    assert "coop-pub,Public Coop,social_coop_b,True,work-integration" in csv
    api = client.get("/api/v1/organisations/coop-pub").json
    assert api["social_economy"] is True and api["accreditations"][0]["in_force"] is True
    assert client.get("/api/v1/organisations/nope").json["error"] == "not_found"


def test_categories_keep_names_per_language(client_as):
    official = client_as(Role.OFFICIAL)
    response = post_form(official, "/organisations/categories/new", {
        "slug": "respite-care", "name_en": "Respite care", "name_it": "Sollievo", "active": "y"})
    assert response.status_code == 302
    category = ops.category_by_slug("respite-care")
    assert category.names == {"en": "Respite care", "it": "Sollievo"}
    missing = post_form(official, "/organisations/categories/new", {"slug": "x-care", "name_en": ""})
    assert 'id="name_en-error"' in missing.get_data(as_text=True)


def test_category_names_follow_the_language(app, checklist):
    from flask_babel import force_locale
    with app.test_request_context():
        with force_locale("it"):
            assert ops.category_name("elder-care") == "Assistenza agli anziani"
        with force_locale("ca"):
            assert ops.category_name("elder-care") == "Atenció a la gent gran"
        assert ops.category_name("no-such-category") == "no-such-category"
