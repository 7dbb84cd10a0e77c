"""Who each vouchers route is for (read by tests/test_role_matrix.py)."""
from datetime import timedelta

from app.database import utcnow
from app.extensions import db
from app.organisations import operations as organisations

from ..matrix import ANY_USER, OFFICIALS, PUBLIC, roles  # noqa: F401

STATEMENT_READERS = roles("official", "admin", "org_member")
MEMBERS = roles("org_member")

EXPECTED = {
    "vouchers.index": PUBLIC,
    "vouchers.directory": PUBLIC,
    "vouchers.open_books": PUBLIC,
    "vouchers.figures_json": PUBLIC,
    "vouchers.figures_csv": PUBLIC,
    "vouchers.mine": ANY_USER,
    "vouchers.voucher": ANY_USER,
    "vouchers.voucher_qr": ANY_USER,
    "vouchers.voucher_pdf": ANY_USER,
    "vouchers.give_time": ANY_USER,
    "vouchers.time_pin": ANY_USER,
    "vouchers.contribute": ANY_USER,
    "vouchers.receipt": ANY_USER,
    "vouchers.desk": MEMBERS,
    "vouchers.desk_time": MEMBERS,
    "vouchers.refund": MEMBERS,
    "vouchers.bank_account": MEMBERS,
    "vouchers.bank_accounts": OFFICIALS,
    "vouchers.eligibility_list": OFFICIALS,
    "vouchers.eligibility_issue": OFFICIALS,
    "vouchers.verify_resident": ANY_USER,
    "vouchers.approve_bank_account": OFFICIALS,
    "vouchers.reject_bank_account": OFFICIALS,
    "vouchers.settlement_file": OFFICIALS,
    "vouchers.settlement_paid": OFFICIALS,
    "vouchers.desk_manifest": PUBLIC,
    "vouchers.desk_worker": PUBLIC,
    "vouchers.desk_ping": PUBLIC,
    "vouchers.offline_sales": MEMBERS,
    "vouchers.offline": OFFICIALS,
    "vouchers.programme_offline": OFFICIALS,
    "vouchers.statements": MEMBERS,
    "vouchers.programmes": OFFICIALS,
    "vouchers.programme": OFFICIALS,
    "vouchers.batch": OFFICIALS,
    "vouchers.programme_rules_page": OFFICIALS,
    "vouchers.revoke": OFFICIALS,
    "vouchers.transfer": OFFICIALS,
    "vouchers.account": OFFICIALS,
    "vouchers.expire": OFFICIALS,
    "vouchers.settlements": OFFICIALS,
    "vouchers.settlement": OFFICIALS,
    "vouchers.statement_pdf": STATEMENT_READERS,
    "vouchers.statement_csv": STATEMENT_READERS,
    "vouchers_api.redeem": MEMBERS,
    "vouchers_api.mine": ANY_USER,
    "vouchers_api.organisation": MEMBERS,
    "vouchers_api.contribute": ANY_USER,
    "vouchers_api.contributions": ANY_USER,
    "vouchers_api.reverse_transfer": OFFICIALS,
    "vouchers_api.issue_voucher": OFFICIALS,
    "vouchers_api.refund": MEMBERS,
    "vouchers_api.record_time": MEMBERS,
    "vouchers_api.give_time": ANY_USER,
    "vouchers_api.movements": ANY_USER,
}


def samples(ctx) -> dict:
    from vouchers import bank, contributions, issuance, programmes, redemption, settlement
    from vouchers.models import Redemption
    care = ctx.make_category("elder-care")
    coop = ctx.make_org("matrix-voucher-coop")
    organisations.accredit(coop, care, ctx.today + timedelta(days=30), met_all=True)
    member = ctx.make_user("org_member", organisations=[coop])
    holder = ctx.make_user()
    programme = programmes.create_programme("matrix-programme", "Matrix programme", 100_000, ["elder-care"],
                                            ctx.today + timedelta(days=30))
    voucher = issuance.issue_voucher(programme, holder, 1000, actor=None)
    result = redemption.redeem(voucher.code, 100, "elder-care", coop, actor=member)
    db.session.get(Redemption, result.redemption_id).at = utcnow() - timedelta(days=1)
    db.session.commit()
    yesterday = ctx.today - timedelta(days=1)
    cleared, _created = settlement.settle(yesterday, yesterday)
    contribution = contributions.contribute(500, actor=holder)
    transfer_id = db.session.get(Redemption, result.redemption_id).transfer_id
    account = bank.request_account(coop, "IT60 X054 2811 1010 0000 0123 456", "BPPIITRRXXX", "Matrix Coop",
                                   actor=member)
    statement = {"settlement_id": cleared.id, "slug": coop.slug}
    return {
        "vouchers.voucher": {"voucher_id": voucher.id},
        "vouchers.voucher_qr": {"voucher_id": voucher.id},
        "vouchers.voucher_pdf": {"voucher_id": voucher.id},
        "vouchers.receipt": {"contribution_id": contribution.id},
        "vouchers.programme": {"slug": programme.slug},
        "vouchers.batch": {"slug": programme.slug},
        "vouchers.programme_rules_page": {"slug": programme.slug},
        "vouchers.programme_offline": {"slug": programme.slug},
        "vouchers.eligibility_list": {"slug": programme.slug},
        "vouchers.eligibility_issue": {"slug": programme.slug},
        "vouchers.revoke": {"voucher_id": voucher.id},
        "vouchers.transfer": {"transfer_id": transfer_id},
        "vouchers.account": {"account_id": voucher.account_id},
        "vouchers_api.reverse_transfer": {"transfer_id": transfer_id},
        "vouchers_api.issue_voucher": {"slug": programme.slug},
        "vouchers.refund": {"redemption_id": result.redemption_id},
        "vouchers_api.refund": {"redemption_id": result.redemption_id},
        "vouchers.settlement": {"settlement_id": cleared.id},
        "vouchers.settlement_file": {"settlement_id": cleared.id},
        "vouchers.settlement_paid": {"settlement_id": cleared.id},
        "vouchers.approve_bank_account": {"account_id": account.id},
        "vouchers.reject_bank_account": {"account_id": account.id},
        "vouchers.statement_pdf": statement,
        "vouchers.statement_csv": statement,
    }
