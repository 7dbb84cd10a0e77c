"""Who each councils route is for (read by tests/test_role_matrix.py)."""
from ..matrix import ANY_USER, OFFICIALS, PUBLIC, roles  # noqa: F401

EXPECTED = {
    "councils.index": PUBLIC,
}


def samples(ctx) -> dict:
    return {}
