"""/api/v1/books: proofs anyone may ask for, answered from the stored subtrees (a bounded number
of rows per proof, whatever the size of the books). Hashes are standard base64 (RFC 4648 §4),
as in the checkpoint notes; a leaf's bytes are base64 too."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..api import domain_error_response
from ..errors import DomainError
from ..security import api_public
from . import operations as books

blp = Blueprint("books_api", __name__, url_prefix="/api/v1/books",
                description="The city's books as transparency logs (RFC 9162): inclusion and consistency proofs "
                            "against the signed checkpoints of /open-data/checkpoints.json. Hashes in base64.")

# A proof for a given size never changes: shared caches may keep it a while.
CACHED = {"Cache-Control": "public, max-age=300"}
SIZE = validate.Range(min=1, max=2**62)
LOG = fields.String(load_default="ledger", validate=validate.OneOf(books.LOG_ORDER), metadata={
    "description": "ledger (the voucher and time-credit transfers, the default) or audit (the audit trail)"})

class InclusionQuery(Schema):
    log = LOG
    leaf = fields.Integer(required=True, validate=SIZE, metadata={
        "description": "The transfer's id (or the audit entry's, with log=audit)"})
    size = fields.Integer(required=True, validate=SIZE, metadata={
        "description": "The tree size to prove against: a checkpoint's size, at most the latest's"})

class InclusionSchema(Schema):
    log = fields.String()
    leaf = fields.Integer(metadata={"description": "The transfer's (or audit entry's) id"})
    index = fields.Integer(metadata={"description": "Its position in the log, from 0"})
    size = fields.Integer()
    leaf_hash = fields.String(metadata={"description": "SHA-256(0x00 || leaf bytes) of the row as it is now"})
    leaf_data = fields.String(metadata={
        "description": "The leaf's bytes (ledger only): the transfer as canonical JSON — id, at, kind, currency, "
                       "amount, debit, credit, reverses"})
    proof = fields.List(fields.String(), metadata={"description": "The audit path of RFC 9162 §2.1.3, leaf side first"})

class ConsistencyQuery(Schema):
    log = LOG
    first = fields.Integer(required=True, validate=SIZE)
    second = fields.Integer(required=True, validate=SIZE)

class ConsistencySchema(Schema):
    log = fields.String()
    first = fields.Integer()
    second = fields.Integer()
    proof = fields.List(fields.String(), metadata={"description": "The consistency proof of RFC 9162 §2.1.4"})

class LeavesQuery(Schema):
    log = LOG
    start = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**62))
    count = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=1000))

class LeafSchema(Schema):
    index = fields.Integer()
    leaf = fields.Integer(metadata={"description": "The row's id"})
    leaf_hash = fields.String(allow_none=True, metadata={
        "description": "The leaf hash of the row as it is now; null when the row is gone"})

def _answer(operation, *args):
    try:
        return operation(*args), 200, CACHED
    except DomainError as error:
        return domain_error_response(error)

@blp.route("/proofs/inclusion")
@blp.arguments(InclusionQuery, location="query")
@blp.response(200, InclusionSchema)
@api_public
def inclusion(query):
    """The proof that a transfer (or audit entry) is in the log's tree of `size` leaves. 404 for a
    row not in the log yet, 422 for a size beyond the latest checkpoint or before the row entered."""
    return _answer(books.inclusion_proof, query["log"], query["leaf"], query["size"])

@blp.route("/proofs/consistency")
@blp.arguments(ConsistencyQuery, location="query")
@blp.response(200, ConsistencySchema)
@api_public
def consistency(query):
    """The proof that the log's tree of `first` leaves is a prefix of its tree of `second` leaves
    (422 for sizes out of order or beyond the latest checkpoint)."""
    return _answer(books.consistency_proof, query["log"], query["first"], query["second"])

@blp.route("/leaves")
@blp.arguments(LeavesQuery, location="query")
@blp.response(200, LeafSchema(many=True))
@api_public
def leaves(query):
    """Up to `count` leaves from `start`, each hashed from its row as it is now: a monitor rebuilds
    every signed tree from them and notices a row changed or removed."""
    return _answer(books.live_leaves, query["log"], query["start"], query["count"])
