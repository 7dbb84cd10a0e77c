"""audit: each entry's hash becomes an HMAC-SHA256 under AUDIT_KEY (a key kept outside the
database) instead of a plain SHA-256 anyone could recompute

The chain written so far is re-keyed in place, in id order, in this migration's transaction:
each entry's link (prev_hash) and hash are recomputed with the key over the same content. First
the chain is verified as it was written (plain SHA-256); an altered chain is not re-keyed, since
that would launder the alteration: the upgrade stops and names the first altered entry. After
looking into it, an administrator who accepts the chain as it stands re-runs the upgrade with
PROCOMUN_AUDIT_REKEY_ACCEPT=<that entry's id>. Keep AUDIT_KEY safe and unchanged afterwards:
without it the trail cannot be verified. The content formula is frozen here as it stands at this
revision (app/audit/operations.py:entry_body).

Revision ID: 0032_audit_keyed
Revises: 0031_password_resets
Create Date: 2026-12-06 14:00:00

"""
import hashlib
import hmac
import json
import os
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = "0032_audit_keyed"
down_revision = "0031_password_resets"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
BATCH = 5000
entries = sa.table(
    "audit_log", sa.column("id", sa.BigInteger), sa.column("at", sa.DateTime(timezone=True)), sa.column("actor_id", sa.Integer),
    sa.column("action", sa.String), sa.column("object_type", sa.String), sa.column("object_id", sa.String),
    sa.column("before", sa.Text), sa.column("after", sa.Text), sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String))


def _utc(value: datetime) -> str:
    # As the app reads it (UTCDateTime): SQLite gives it naive, PostgreSQL in the session's zone.
    return (value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)).isoformat()


def _body(row, prev_hash: str) -> bytes:
    at = _utc(row.at)
    return json.dumps({"at": at, "actor_id": row.actor_id, "action": row.action, "object_type": row.object_type,
                       "object_id": row.object_id, "before": row.before, "after": row.after,
                       "prev_hash": prev_hash}, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _plain(row, prev_hash: str) -> str:
    return hashlib.sha256(_body(row, prev_hash)).hexdigest()


def _keyed(row, prev_hash: str) -> str:
    return hmac.new(current_app.config["AUDIT_KEY"].encode(), _body(row, prev_hash), hashlib.sha256).hexdigest()


def _rechain(old_hash, new_hash, scheme: str) -> None:
    """Check each entry under `old_hash`, then write its link and hash under `new_hash`."""
    conn = op.get_bind()
    accepted = os.environ.get("PROCOMUN_AUDIT_REKEY_ACCEPT", "")
    old_prev, new_prev, last_id = GENESIS, GENESIS, 0
    while True:
        rows = conn.execute(sa.select(entries).where(entries.c.id > last_id).order_by(entries.c.id)
                            .limit(BATCH)).fetchall()
        if not rows:
            return
        changes = []
        for row in rows:
            intact = row.prev_hash == old_prev and hmac.compare_digest(old_hash(row, row.prev_hash), row.hash)
            if not intact and accepted != str(row.id):
                raise RuntimeError(
                    f"The audit trail does not verify under its {scheme} hashes at entry {row.id}: it was "
                    f"altered before this upgrade, and re-keying it would hide that. Look into it (a backup "
                    f"holds the entry as written); to re-key the chain as it stands, run the upgrade again "
                    f"with PROCOMUN_AUDIT_REKEY_ACCEPT={row.id}.")
            new = new_hash(row, new_prev)
            changes.append({"row_id": row.id, "new_prev": new_prev, "new_hash": new})
            old_prev, new_prev, last_id = row.hash, new, row.id
        conn.execute(entries.update().where(entries.c.id == sa.bindparam("row_id"))
                     .values(prev_hash=sa.bindparam("new_prev"), hash=sa.bindparam("new_hash")), changes)


def upgrade():
    _rechain(_plain, _keyed, "plain SHA-256")


def downgrade():
    _rechain(_keyed, _plain, "keyed")
