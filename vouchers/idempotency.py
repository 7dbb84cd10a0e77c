"""One answer per idempotency key, for every write API of the vouchers module.

A caller's write runs together with the row that remembers its answer, in one
transaction: either both are saved or neither. A retry with the same key gets
the first answer back and moves nothing; the same key sent with a different
request is refused rather than silently answered with something else.
Concurrent retries are settled by the key's primary key: the loser's
transaction rolls back whole and it answers what the winner saved.

Every key's row has one shape: status, and a response {"request": the request's
fingerprint, "answer": the answer given}. The redemption writes its rows in its own
SQL (vouchers/redemption.py) in this same shape and replays them with `replay`."""
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


# json.dumps(body, sort_keys=True, default=str), without building an encoder per call (the
# redemption fingerprints every till's request).
_CANONICAL = json.JSONEncoder(sort_keys=True, default=str)


def fingerprint(request_body: dict) -> str:
    """The request in 64 hex digits: the same fields and values give the same, in any order."""
    return hashlib.sha256(_CANONICAL.encode(request_body).encode()).hexdigest()


def remembered(request_fingerprint: str, answer: dict) -> dict:
    """The response a key's row stores: what was asked, and what was answered."""
    return {"request": request_fingerprint, "answer": answer}


def stored(scope: str, key: str):
    """The key's row (status, response), or None."""
    return db.session.execute(select(IdempotencyKey.status, IdempotencyKey.response).where(
        IdempotencyKey.scope == scope, IdempotencyKey.key == key)).first()


def replay(response: dict, request_fingerprint: str) -> dict:
    """The answer first given under a key, to a retry of the same request; KeyReused for another."""
    if response.get("request") != request_fingerprint:
        raise KeyReused(_l("This idempotency key was already used for a different request; use a new key."),
                        field="idempotency_key")
    return response["answer"]


def once(scope: str, key: str, request_body: dict, produce: Callable[[], dict],
         status: int = 201) -> tuple[dict, int, bool]:
    """Run `produce()` (which writes and returns a JSON-ready answer) at most once per
    (scope, key). Returns (answer, status, replayed). A refusal (DomainError) is not
    remembered: nothing was written, so a retry is judged afresh."""
    request_fingerprint = fingerprint(request_body)
    row = stored(scope, key)
    if row is not None:
        return replay(row.response, request_fingerprint), row.status, True
    try:
        with transaction():
            answer = produce()
            db.session.execute(insert(IdempotencyKey).values(
                scope=scope, key=key, status=status, response=remembered(request_fingerprint, answer), at=utcnow()))
    except (IntegrityError, DomainError):
        # A concurrent request with this key may have committed first (our insert of the key
        # collided, or its write made ours refused): then its answer is the answer.
        row = stored(scope, key)
        if row is not None:
            return replay(row.response, request_fingerprint), row.status, True
        raise
    return answer, status, False
