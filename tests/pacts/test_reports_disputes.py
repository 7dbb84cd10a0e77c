"""Reports by the signatories on the pact's schedule, disputes settled by a
three-member committee, and uploads checked for size and type."""
import io
from datetime import date

import pytest

from app.errors import Invalid, InvalidTransition, NotAllowed
from pacts import attachments, commons_register, disputes, reports
from pacts.models import DisputeState, PactState

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def test_only_signatories_report_once_per_due_date(world):
    pact = world.walk(world.propose(), PactState.ACTIVE)
    due = reports.report_schedule(pact)[0].due_on
    with pytest.raises(NotAllowed, match="Only the signatories"):
        reports.file_report(pact, due, actor=world.other, activities="I watched")
    with pytest.raises(NotAllowed, match="Only the signatories"):
        reports.file_report(pact, due, actor=world.official, activities="Inspected")
    with pytest.raises(Invalid, match="due date of the pact's schedule"):
        reports.file_report(pact, date(1999, 1, 1), actor=world.citizen, activities="Planted")
    with pytest.raises(Invalid, match="Say what was done"):
        reports.file_report(pact, due, actor=world.citizen, activities=" ")
    report = reports.file_report(pact, due, actor=world.citizen, activities="Planted 40 bulbs",
                                 volunteer_minutes=600, results="A greener square")
    assert report.volunteer_hours == 10
    with pytest.raises(Invalid, match="already filed"):
        reports.file_report(pact, due, actor=world.citizen, activities="Again")
    assert reports.report_schedule(pact)[0].report is report


def test_reports_are_not_filed_before_the_pact_is_in_force(world):
    pact = world.walk(world.propose(), PactState.APPROVED)
    with pytest.raises(InvalidTransition, match="pacts in force"):
        reports.file_report(pact, date(2030, 1, 1), actor=world.citizen, activities="x")


def test_dispute_goes_to_a_three_member_committee_and_its_outcome_is_recorded(world):
    pact = world.walk(world.propose(), PactState.ACTIVE)
    with pytest.raises(NotAllowed, match="Only the parties"):
        disputes.raise_dispute(pact, "Noise", actor=world.other)
    dispute = disputes.raise_dispute(pact, "The city did not deliver the tools.", actor=world.citizen)
    with pytest.raises(InvalidTransition):
        disputes.settle_dispute(dispute, "Settled", actor=world.official)
    with pytest.raises(Invalid, match="all three"):
        disputes.appoint_committee(dispute, actor=world.official, citizens_member="Anna", city_member="",
                                   joint_member="Bea")
    with pytest.raises(Invalid, match="three different"):
        disputes.appoint_committee(dispute, actor=world.official, citizens_member="Anna", city_member="anna",
                                   joint_member="Bea")
    with pytest.raises(NotAllowed):
        disputes.appoint_committee(dispute, actor=world.citizen, citizens_member="Anna", city_member="Carlo",
                                   joint_member="Bea")
    disputes.appoint_committee(dispute, actor=world.official, citizens_member="Anna", city_member="Carlo",
                               joint_member="Bea")
    assert dispute.state == DisputeState.CONCILIATION
    disputes.settle_dispute(dispute, "Tools delivered within 15 days.", actor=world.official)
    assert dispute.state == DisputeState.SETTLED and dispute.settled_at is not None


def test_disputes_only_on_pacts_in_force(world):
    pact = world.walk(world.propose(), PactState.EVALUATION)
    with pytest.raises(InvalidTransition, match="pacts in force"):
        disputes.raise_dispute(pact, "x", actor=world.official)


def test_uploads_are_checked_and_stored_under_a_generated_name(world, app):
    app.config["PACTS_UPLOAD_MAX_BYTES"] = 1024
    commons = world.commons
    with pytest.raises(Invalid, match="JPEG or PNG"):
        attachments.store_attachment(io.BytesIO(b"<html>not a photo</html>"), "image/png", "x",
                                     actor=world.official, commons=commons)
    with pytest.raises(Invalid, match="JPEG or PNG"):
        attachments.store_attachment(io.BytesIO(PNG), "text/html", "x", actor=world.official, commons=commons)
    with pytest.raises(Invalid, match="larger than"):
        attachments.store_attachment(io.BytesIO(PNG + b"\0" * 2000), "image/png", "x",
                                     actor=world.official, commons=commons)
    with pytest.raises(NotAllowed):
        attachments.store_attachment(io.BytesIO(PNG), "image/png", "x", actor=world.citizen, commons=commons)
    attachment = attachments.store_attachment(io.BytesIO(PNG), "image/png", "The square in May",
                                              actor=world.official, commons=commons)
    found, path = attachments.attachment_by_id(attachment.id)
    assert path.read_bytes() == PNG and path.parent == attachments.upload_folder()
    assert path.name.endswith(".png") and len(path.stem) == 32


def test_commons_register_rules(world):
    with pytest.raises(NotAllowed):
        commons_register.save_commons(actor=world.citizen, name="x", kind="square")
    with pytest.raises(Invalid) as error:
        commons_register.save_commons(actor=world.official, name="Garden", kind="green_area", latitude=44.5)
    assert error.value.field == "longitude"
    with pytest.raises(Invalid):
        commons_register.save_commons(actor=world.official, name="Garden", kind="green_area", latitude=144.5,
                                      longitude=3)
    garden = commons_register.save_commons(actor=world.official, name="Garden", kind="green_area",
                                           neighbourhood="Porto")
    assert not garden.has_coordinates and "Porto" in commons_register.neighbourhoods()
