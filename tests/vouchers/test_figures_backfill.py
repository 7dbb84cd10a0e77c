"""Upgrading a database that has vouchers, redemptions and transfers from before the running sums
(migration 0220) fills them with the full aggregate (issue #25)."""
from datetime import timedelta

from flask_migrate import downgrade, upgrade

from app import create_app
from app.accounts import operations as accounts
from app.accounts.models import Role
from app.extensions import db
from app.i18n import city_today
from app.organisations import operations as organisations
from vouchers import closing, contributions, figures, issuance, ledger, programmes, redemption, settlement

from ..app.test_migrations import empty_database  # noqa: F401  (the fixture)
from ..conftest import PASSWORD, app_config

BEFORE_FIGURES = "0172_bank_account_rejection"


def test_an_upgrade_fills_the_running_sums_from_what_was_there(empty_database, tmp_path):  # noqa: F811
    url, _schema = empty_database
    app = create_app(app_config(url, tmp_path / "instance"))
    with app.app_context(), app.test_request_context():
        upgrade()
        today = city_today()
        care = organisations.save_category("elder-care", {"en": "Elder care"})
        coop = organisations.create_organisation("la-tela", "La Tela", "social_coop_a", neighbourhood="Porto")
        organisations.accredit(coop, care, today + timedelta(days=365), met_all=True)
        official = accounts.create_user("official@example.org", PASSWORD, name="Official", roles=(Role.OFFICIAL,))
        citizen = accounts.create_user("citizen@example.org", PASSWORD, name="Citizen", roles=(Role.CITIZEN,))
        member = accounts.create_user("member@example.org", PASSWORD, name="Member", roles=(Role.ORG_MEMBER,),
                                      organisations=[coop])
        programme = programmes.create_programme("care", "Care", 100_000, ["elder-care"],
                                                today + timedelta(days=100), actor=official)
        vouchers = [issuance.issue_voucher(programme, citizen, 5000, actor=official) for _ in range(3)]
        for n, voucher in enumerate(vouchers):
            redemption.redeem(voucher.code, 1000 + n, "elder-care", coop, actor=member)
        closing.revoke_voucher(vouchers[0], "mistake", actor=official)
        contributions.contribute(2500, actor=citizen)
        settlement.settle(today - timedelta(days=3), today - timedelta(days=1), actor=official)
        db.session.commit()
        kept = (figures.book_kept(), figures.flow_kept(), figures.count_kept())
        assert kept[0] and kept[1] and kept[2]
        db.session.remove()
        downgrade(revision=BEFORE_FIGURES)
        upgrade()
        filled = (figures.book_kept(), figures.flow_kept(), figures.count_kept())
        problems = figures.differences()
        report = ledger.verify()
        db.session.remove()
        db.engine.dispose()
    assert filled == kept and problems == [] and report.ok, (problems, report.problems)
