"""Who each accountability route is for (read by tests/test_role_matrix.py)."""
from ..matrix import OFFICIALS, PUBLIC

EXPECTED = {
    "accountability.index": PUBLIC,
    "accountability.need": PUBLIC,
    "accountability.commitment": PUBLIC,
    "accountability.overdue": PUBLIC,
    "accountability.statistics": PUBLIC,
    "accountability.accountability_json": PUBLIC,
    "accountability.accountability_csv": PUBLIC,
    "accountability.overdue_json": PUBLIC,
    "accountability.set_progress": OFFICIALS,
    "accountability.record_entry": OFFICIALS,
    "accountability.link": OFFICIALS,
    "accountability.import_results": OFFICIALS,
}


def samples(ctx) -> dict:
    # A need or commitment that does not exist: visitors get a 404 (not a refusal), officials'
    # forms a refusal of the operation; who may enter is what the matrix checks.
    return {
        "accountability.need": {"need_id": 1},
        "accountability.commitment": {"commitment_id": 1},
        "accountability.set_progress": {"kind": "need", "subject_id": 1},
        "accountability.record_entry": {"kind": "need", "subject_id": 1},
        "accountability.link": {"need_id": 1},
    }
