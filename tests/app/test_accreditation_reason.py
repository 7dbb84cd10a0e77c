"""An official's reason for suspending, reinstating or revoking an accreditation: a refused one is
shown beside the reason box it concerns, with what was typed still in it."""
import html
import re
from datetime import timedelta

import pytest

from app.accounts.models import Role
from app.extensions import db
from app.i18n import city_today
from app.organisations import operations as ops
from app.organisations.defaults import ensure_defaults
from app.organisations.models import Accreditation

from ..conftest import post_form


@pytest.fixture
def accreditation(app, make_org):
    ensure_defaults()
    checklist = {c.slug: True for c in ops.criteria()}
    return ops.accredit(make_org("coop-r"), ops.category_by_slug("elder-care"),
                        city_today() + timedelta(days=30), checklist=checklist)


def _reason_box(page: str, acc_id: int, action: str) -> tuple[str, str]:
    """The reason input of one action's form, and the error printed beside it ('' if none)."""
    box = re.search(rf'<input[^>]*id="reason-{acc_id}-{action}"[^>]*>', page).group(0)
    error = re.search(rf'<p class="error" id="reason-{acc_id}-{action}-error">([^<]*)</p>', page)
    return box, html.unescape(error.group(1)) if error else ""


def test_a_missing_reason_is_shown_beside_its_box(client_as, accreditation):
    official = client_as(Role.OFFICIAL)
    response = post_form(official, f"/organisations/accreditations/{accreditation.id}/suspend", {"reason": " "})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    box, error = _reason_box(page, accreditation.id, "suspend")
    assert "Give the reason" in error
    assert 'aria-invalid="true"' in box
    assert _reason_box(page, accreditation.id, "revoke")[1] == ""  # only the form that was sent
    assert db.session.get(Accreditation, accreditation.id).status == "active"


def test_a_refused_reason_keeps_what_was_typed(client_as, accreditation):
    official = client_as(Role.OFFICIAL)
    typed = "Complaint <under> review & " + "x" * 2000
    response = post_form(official, f"/organisations/accreditations/{accreditation.id}/revoke", {"reason": typed})
    assert response.status_code == 422
    box, error = _reason_box(response.get_data(as_text=True), accreditation.id, "revoke")
    assert error
    assert html.unescape(re.search(r'value="([^"]*)"', box).group(1)) == typed
    assert db.session.get(Accreditation, accreditation.id).status == "active"


def test_a_move_the_accreditation_no_longer_allows_is_still_reported(client_as, accreditation):
    official = client_as(Role.OFFICIAL)
    ops.suspend(accreditation, "Inspection pending", actor=official.user)
    response = post_form(official, f"/organisations/accreditations/{accreditation.id}/suspend",
                         {"reason": "again"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "cannot move from" in page.split('class="flashes"')[1]
    assert db.session.get(Accreditation, accreditation.id).status == "suspended"
