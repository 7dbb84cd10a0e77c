"""vouchers: a redemption's idempotency key stores its response in the shape every key has,
{"request": the request's fingerprint, "answer": the answer given} (it stored the answer alone)

Revision ID: 0020_redemption_key_shape
Revises: 0010_batch_issue
Create Date: 2026-12-06 13:00:00

"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020_redemption_key_shape"
down_revision = "0010_batch_issue"
branch_labels = None
depends_on = None

KEYS = sa.table("voucher_idempotency_keys", sa.column("scope", sa.String), sa.column("key", sa.String),
                sa.column("response", sa.JSON))
REDEMPTIONS = KEYS.c.scope.like("org:%")  # an organisation's till; every other write's scope is "user:…"
PAGE = 5_000


def _fingerprint(answer: dict) -> str:
    # vouchers.idempotency.fingerprint of what a redemption's retry must ask again, as of this revision.
    request = {"code": answer["code"], "amount": answer["amount_cents"], "service_category": answer["service_category"]}
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def _rewrite(shape) -> None:
    """Rewrite every redemption key's response with `shape(response)` (None: leave it), a page at a
    time in the order of the primary key: a city's keys may number millions."""
    conn = op.get_bind()
    after = ("", "")
    update = KEYS.update().where(KEYS.c.scope == sa.bindparam("s"), KEYS.c.key == sa.bindparam("k")) \
        .values(response=sa.bindparam("r"))
    while True:
        rows = conn.execute(sa.select(KEYS.c.scope, KEYS.c.key, KEYS.c.response)
                            .where(REDEMPTIONS, sa.tuple_(KEYS.c.scope, KEYS.c.key) > after)
                            .order_by(KEYS.c.scope, KEYS.c.key).limit(PAGE)).all()
        if not rows:
            return
        changed = [{"s": scope, "k": key, "r": shape(response)} for scope, key, response in rows]
        changed = [row for row in changed if row["r"] is not None]
        if changed:
            conn.execute(update, changed)
        after = (rows[-1].scope, rows[-1].key)


def upgrade():
    _rewrite(lambda response: None if "answer" in response
             else {"request": _fingerprint(response), "answer": response})


def downgrade():
    _rewrite(lambda response: response["answer"] if "answer" in response else None)
