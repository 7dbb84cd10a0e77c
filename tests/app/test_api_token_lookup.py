"""The bearer-token lookup every API call makes is one SQL statement (the
redemption benchmark's hot path), with the account's roles and organisations."""
from app.accounts.models import Role
from app.accounts.operations import issue_token
from app.extensions import db
from app.security import user_for_token

from ..conftest import statements_run


def test_token_lookup_loads_roles_and_organisations_in_one_statement(app, make_user, make_org):
    coop, other = make_org("coop-one"), make_org("coop-two")
    user = make_user(Role.ORG_MEMBER, Role.CITIZEN, organisations=[coop, other])
    token, _ = issue_token(user)
    db.session.commit()
    db.session.expunge_all()  # nothing already in the identity map
    with statements_run() as seen:
        found = user_for_token(token)
        roles, slugs = found.roles, sorted(o.slug for o in found.organisations)
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1  # SQLite's BEGIN aside
    assert roles == {Role.ORG_MEMBER, Role.CITIZEN} and slugs == ["coop-one", "coop-two"]
    assert user_for_token("pc_not-a-token") is None
