from app.accounts import operations as accounts
from app.books import operations as books
from app.notifications.mail import unsubscribe_token
from app.organisations import operations as organisations

from ..matrix import ANY_USER, OFFICIALS, PUBLIC, roles

EXPECTED = {
    "main.home": PUBLIC,
    "main.open_data": PUBLIC,
    "main.set_locale": PUBLIC,
    "main.healthz": PUBLIC,
    "accounts.register": PUBLIC,
    "accounts.login": PUBLIC,
    "accounts.logout": PUBLIC,
    "accounts.reset": PUBLIC,
    "accounts.forgot": PUBLIC,
    "accounts.logout_everywhere": ANY_USER,
    "accounts.profile": ANY_USER,
    "accounts.password": ANY_USER,
    "accounts.create_token": ANY_USER,
    "accounts.revoke_token": ANY_USER,
    "accounts.users": roles("admin"),
    "accounts.edit_user": roles("admin"),
    "audit.index": OFFICIALS,
    "organisations.index": PUBLIC,
    "organisations.accredited": PUBLIC,
    "organisations.show": PUBLIC,
    "organisations.create": OFFICIALS,
    "organisations.edit": OFFICIALS,
    "organisations.department_head": OFFICIALS,
    "organisations.accredit": OFFICIALS,
    "organisations.change_accreditation": OFFICIALS,
    "organisations.certificate": PUBLIC,
    "organisations.category_list": OFFICIALS,
    "organisations.category_edit": OFFICIALS,
    "organisations.criterion_list": OFFICIALS,
    "organisations.criterion_edit": OFFICIALS,
    "organisations.accreditations_json": PUBLIC,
    "organisations.accreditations_csv": PUBLIC,
    "me.me": ANY_USER,
    "organisations_api.index": PUBLIC,
    "organisations_api.show": PUBLIC,
    # Notifications (app/notifications)
    "notifications.index": ANY_USER,
    "notifications.mark_read": ANY_USER,
    "notifications.mark_all_read": ANY_USER,
    "notifications.preferences": ANY_USER,
    "notifications.follow": ANY_USER,
    "notifications.unfollow": ANY_USER,
    "notifications.unsubscribe": PUBLIC,
    "notifications.mail_outbox": roles("admin"),
    "notifications.mail_file": roles("admin"),
    # The city's books (app/books): public but a transfer's leaf bytes (its parties', 404 to others)
    "books.index": PUBLIC,
    "books.checkpoint": PUBLIC,
    "books.note": PUBLIC,
    "books.witnesses": PUBLIC,
    "books.transfer": PUBLIC,
    "books.transfer_leaf": ANY_USER,
    "books.checkpoints_json": PUBLIC,
    "books_api.inclusion": PUBLIC,
    "books_api.consistency": PUBLIC,
    "books_api.leaves": PUBLIC,
    "books_api.transfer_leaf": ANY_USER,
}


def samples(ctx) -> dict:
    org = ctx.make_org("matrix-coop")
    category = ctx.make_category("elder-care")
    criterion = organisations.save_criterion("matrix-criterion", {"en": "Open books"})
    acc = organisations.accredit(org, category, ctx.today.replace(year=ctx.today.year + 1),
                                 met_all=True)
    user = ctx.make_user()
    made = books.checkpoint()
    _token, token_row = accounts.issue_token(user, "matrix")
    return {
        "accounts.reset": {"token": "not-a-token"},
        "accounts.revoke_token": {"token_id": token_row.id},
        "accounts.edit_user": {"user_id": user.id},
        "organisations.show": {"slug": org.slug},
        "organisations.edit": {"slug": org.slug},
        "organisations.department_head": {"slug": org.slug},
        "organisations.accredit": {"slug": org.slug},
        "organisations.change_accreditation": {"acc_id": acc.id, "action": "suspend"},
        "organisations.certificate": {"acc_id": acc.id},
        "organisations.category_edit": {"row_id": category.id},
        "organisations.criterion_edit": {"row_id": criterion.id},
        "organisations_api.show": {"slug": org.slug},
        "notifications.mark_read": {"notification_id": 1},
        "notifications.follow": {"subject_type": "organisation", "subject_id": org.id},
        "notifications.unfollow": {"subject_type": "organisation", "subject_id": org.id},
        "notifications.unsubscribe": {"token": unsubscribe_token(user.id, ["accreditation.suspended"])},
        "notifications.mail_file": {"name": "20260101T000000000000-message-1.eml"},
        "books.checkpoint": {"checkpoint_id": made.id},
        "books.note": {"checkpoint_id": made.id},
        "books.transfer": {"transfer_id": 1},
        "books.transfer_leaf": {"transfer_id": 1},
        "books_api.transfer_leaf": {"transfer_id": 1},
    }
