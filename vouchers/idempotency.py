"""One answer per idempotency key, for every write API of the vouchers module.

A caller's write runs together with the row that remembers its answer, in one
transaction: either both are saved or neither. A retry with the same key gets
the first answer back and moves nothing; the same key sent with a different
request is refused rather than silently answered with something else.
Concurrent retries are settled by the key's primary key: the loser's
transaction rolls back whole and it answers what the winner saved."""
import hashlib
import json
from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app.database import transaction, utcnow
from app.errors import DomainError
from app.extensions import db

from .models import IdempotencyKey


class KeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"


def caller_scope(user, action: str) -> str:
    """Keys belong to one caller and one kind of write: "user:12:reversal"."""
    return f"user:{user.id}:{action}"[:40]


def fingerprint(request_body: dict) -> str:
    return hashlib.sha256(json.dumps(request_body, sort_keys=True, default=str).encode()).hexdigest()


def _stored(scope: str, key: str):
    return db.session.execute(select(IdempotencyKey.status, IdempotencyKey.response).where(
        IdempotencyKey.scope == scope, IdempotencyKey.key == key)).first()


def _replay(row, request_fingerprint: str) -> tuple[dict, int, bool]:
    if row.response.get("request") != request_fingerprint:
        raise KeyReused(_l("This idempotency key was already used for a different request; use a new key."),
                        field="idempotency_key")
    return row.response["answer"], row.status, True


def once(scope: str, key: str, request_body: dict, produce: Callable[[], dict],
         status: int = 201) -> tuple[dict, int, bool]:
    """Run `produce()` (which writes and returns a JSON-ready answer) at most once per
    (scope, key). Returns (answer, status, replayed). A refusal (DomainError) is not
    remembered: nothing was written, so a retry is judged afresh."""
    request_fingerprint = fingerprint(request_body)
    row = _stored(scope, key)
    if row is not None:
        return _replay(row, request_fingerprint)
    try:
        with transaction():
            answer = produce()
            db.session.execute(insert(IdempotencyKey).values(
                scope=scope, key=key, status=status, response={"request": request_fingerprint, "answer": answer},
                at=utcnow()))
    except (IntegrityError, DomainError):
        # A concurrent request with this key may have committed first (our insert of the key
        # collided, or its write made ours refused): then its answer is the answer.
        row = _stored(scope, key)
        if row is not None:
            return _replay(row, request_fingerprint)
        raise
    return answer, status, False
