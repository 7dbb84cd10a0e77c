"""The books' public side: the proofs API (answers, refusals with a reason, in the OpenAPI
document), /open-data/checkpoints.json and the checkpoint pages, for a visitor signed out."""
import base64

from app.audit.operations import record
from app.books import merkle, notes
from app.books import operations as books
from app.database import transaction


def _entries(n, start=0):
    with transaction():
        for i in range(start, start + n):
            record("voucher.issued", object_type="vouchers", object_id=i, after={"amount_cents": i})


def _b(value):
    return base64.b64decode(value)


def test_proofs_are_public_cached_and_verify(app, client):
    _entries(5)
    first = books.checkpoint()
    _entries(4, start=9)
    last = books.checkpoint()
    entry = books.live_leaves("audit", 2, 1)[0]["leaf"]
    answer = client.get(f"/api/v1/books/proofs/inclusion?log=audit&leaf={entry}&size={last.audit_size}")
    assert answer.status_code == 200 and "public" in answer.headers["Cache-Control"]
    body = answer.get_json()
    assert merkle.verify_inclusion(2, last.audit_size, _b(body["leaf_hash"]), [_b(h) for h in body["proof"]],
                                   bytes(last.audit_root))
    answer = client.get(f"/api/v1/books/proofs/consistency?log=audit&first={first.audit_size}&second={last.audit_size}")
    assert answer.status_code == 200
    assert merkle.verify_consistency(first.audit_size, last.audit_size, bytes(first.audit_root),
                                     bytes(last.audit_root), [_b(h) for h in answer.get_json()["proof"]])
    leaves = client.get("/api/v1/books/leaves?log=audit&start=0&count=1000").get_json()
    assert [leaf["index"] for leaf in leaves] == list(range(last.audit_size))
    root = merkle.root_of([_b(leaf["leaf_hash"]) for leaf in leaves])
    assert root == bytes(last.audit_root)


def test_unknown_leaves_and_sizes_are_refused_with_a_reason(app, client):
    _entries(3)
    books.checkpoint()
    cases = {
        "/api/v1/books/proofs/inclusion?log=audit&leaf=999999&size=3": 404,
        "/api/v1/books/proofs/inclusion?log=audit&leaf=1&size=4": 422,
        "/api/v1/books/proofs/inclusion?log=audit&leaf=1&size=0": 422,
        "/api/v1/books/proofs/inclusion?log=nope&leaf=1&size=1": 422,
        "/api/v1/books/proofs/inclusion?leaf=1": 422,
        "/api/v1/books/proofs/inclusion?leaf=99999999999999999999999&size=1": 422,
        "/api/v1/books/proofs/consistency?log=audit&first=3&second=2": 422,
        "/api/v1/books/proofs/consistency?log=audit&first=1&second=9": 422,
        "/api/v1/books/leaves?log=audit&start=3": 422,
    }
    for url, status in cases.items():
        answer = client.get(url)
        assert answer.status_code == status, (url, answer.get_data(as_text=True))
        assert answer.get_json()["message"]
    answer = client.get("/api/v1/books/proofs/inclusion?log=audit&leaf=1&size=4", headers={"Accept-Language": "es"})
    assert "tamaño" in answer.get_json()["message"]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/books/proofs/inclusion", "/api/v1/books/proofs/consistency"} <= set(spec["paths"])


def test_checkpoints_are_published_with_their_note_and_url(app, client):
    _entries(2)
    made = books.checkpoint()
    data = client.get("/open-data/checkpoints.json").get_json()
    assert data["key"] == notes.verifier_key(notes.origin(), notes.city_public_key())
    [published] = data["checkpoints"]
    assert published["note"] == made.note and published["url"].endswith(f"/books/checkpoints/{made.id}")
    page = client.get(f"/books/checkpoints/{made.id}")
    assert page.status_code == 200 and made.note.splitlines()[-1] in page.get_data(as_text=True)
    note = client.get(f"/books/checkpoints/{made.id}/note")
    assert note.get_data(as_text=True) == made.note and note.mimetype == "text/plain"
    assert client.get("/books/").status_code == 200 and client.get("/books/witnesses").status_code == 200
    assert client.get("/books/checkpoints/999").status_code == 404
