"""The city always keeps an active administrator, and an operator can restore one from the shell."""
import re
import threading

import pytest

from app.accounts import operations as ops
from app.accounts.models import Role, User
from app.audit.operations import history
from app.errors import Invalid
from app.extensions import db

from ..conftest import post_form
from .test_cli import flask


def _reloaded(user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def _error_beside(page: str, field_id: str) -> str:
    """The error message the form macro prints for a field ('' if none)."""
    found = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    return found.group(1) if found else ""


def _ticked(page: str, role: str) -> bool:
    box = re.search(rf'<input[^>]*name="roles"[^>]*value="{role}"[^>]*>', page).group(0)
    return " checked" in box


def test_the_last_active_admin_keeps_the_admin_role_and_the_account(app, make_user):
    admin = make_user(Role.ADMIN, Role.OFFICIAL)
    with pytest.raises(Invalid, match="at least one active administrator") as error:
        ops.update_account(admin, [Role.OFFICIAL], [], True, actor=admin)
    assert error.value.field == "roles"
    with pytest.raises(Invalid, match="at least one active administrator") as error:
        ops.update_account(admin, [Role.ADMIN, Role.OFFICIAL], [], False, actor=admin)
    assert error.value.field == "active"
    with pytest.raises(Invalid):
        ops.set_roles(admin, [Role.CITIZEN], [], actor=admin)
    with pytest.raises(Invalid):
        ops.set_active(admin, False, actor=admin)
    admin = _reloaded(admin)
    assert admin.active and admin.roles == {Role.ADMIN, Role.OFFICIAL}
    assert [e.action for e in history("users", admin.id)] == ["user.created"]


def test_an_admin_may_step_down_while_another_active_admin_remains(app, make_user):
    first, second = make_user(Role.ADMIN), make_user(Role.ADMIN)
    ops.set_active(second, False, actor=first)
    with pytest.raises(Invalid):  # an inactive administrator cannot manage anything
        ops.update_account(first, [Role.CITIZEN], [], True, actor=first)
    ops.set_active(second, True, actor=first)
    ops.update_account(first, [Role.CITIZEN], [], True, actor=first)
    assert _reloaded(first).roles == {Role.CITIZEN}
    with pytest.raises(Invalid):
        ops.update_account(second, [Role.ADMIN], [], False, actor=second)


def test_changes_to_other_accounts_are_not_held_up_when_no_admin_exists(app, make_user):
    official, member = make_user(Role.OFFICIAL), make_user(Role.CITIZEN)
    ops.update_account(member, [Role.OFFICIAL], [], False, actor=official)
    member = _reloaded(member)
    assert member.roles == {Role.OFFICIAL} and not member.active


def test_admins_stepping_down_at_once_leave_exactly_one(app, make_user):
    """Each in its own transaction and connection, at the same moment: one of them must stay."""
    ids = [make_user(Role.ADMIN, Role.OFFICIAL).id for _ in range(6)]
    db.session.commit()  # end the test's read snapshot so it sees what the threads write
    barrier, refused = threading.Barrier(len(ids)), []

    def step_down(user_id):
        with app.app_context():
            user = db.session.get(User, user_id)
            db.session.commit()
            barrier.wait()
            try:
                ops.update_account(user, [Role.OFFICIAL], [], True, actor=user)
            except Invalid:
                refused.append(user_id)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=step_down, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.expire_all()
    admins = [i for i in ids if db.session.get(User, i).has_role(Role.ADMIN)]
    assert admins == refused and len(admins) == 1


def test_the_admin_page_refuses_to_remove_the_last_admin_beside_the_field(client_as):
    admin = client_as(Role.ADMIN)
    url = f"/account/admin/users/{admin.user.id}"
    response = post_form(admin, url, {"roles": ["citizen", "official"], "active": "y"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "at least one active administrator" in _error_beside(page, "roles")
    # What was typed is kept: the two ticked roles, not the stored admin role.
    assert _ticked(page, "official") and _ticked(page, "citizen") and not _ticked(page, "admin")
    assert _reloaded(admin.user).roles == {Role.ADMIN}
    assert admin.get("/account/admin/users").status_code == 200


def test_the_admin_page_refuses_to_deactivate_the_last_admin_and_saves_nothing(client_as):
    admin = client_as(Role.ADMIN)
    url = f"/account/admin/users/{admin.user.id}"
    response = post_form(admin, url, {"roles": ["admin", "official"]})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "at least one active administrator" in _error_beside(page, "active")
    user = _reloaded(admin.user)
    assert user.active and user.roles == {Role.ADMIN}  # the role ticked with it is not half-saved
    assert admin.get("/account/admin/users").status_code == 200


def test_the_command_line_restores_an_admin_and_the_change_is_audited(app, make_user):
    former = make_user(Role.CITIZEN, email="former-admin@example.org")
    ops.set_active(former, False, actor=None)
    out = flask(app, "user", "roles", "Former-Admin@example.org", "--add", "admin", "--activate").stdout
    assert "admin" in out and "active" in out
    former = _reloaded(former)
    assert former.active and former.roles == {Role.ADMIN, Role.CITIZEN}
    changes = [e for e in history("users", former.id) if e.action in ("user.roles_changed", "user.activated")]
    assert [e.action for e in changes] == ["user.roles_changed", "user.activated"]
    assert '"admin"' in changes[0].after and '"admin"' not in changes[0].before


def test_the_command_line_refuses_to_remove_the_last_admin(app, make_user):
    admin = make_user(Role.ADMIN, Role.OFFICIAL, email="only-admin@example.org")
    refused = flask(app, "user", "roles", admin.email, "--remove", "admin", check=False)
    assert refused.returncode != 0 and "at least one active administrator" in refused.stderr
    refused = flask(app, "user", "roles", admin.email, "--deactivate", check=False)
    assert refused.returncode != 0 and "at least one active administrator" in refused.stderr
    admin = _reloaded(admin)
    assert admin.active and admin.roles == {Role.ADMIN, Role.OFFICIAL}
    shown = flask(app, "user", "roles", admin.email).stdout
    assert "admin, official" in shown
    unknown = flask(app, "user", "roles", "ghost@example.org", "--add", "admin", check=False)
    assert unknown.returncode != 0 and "ghost@example.org" in unknown.stderr
