"""The clauses every pact fills: kept as typed (trimmed), and all written before a pact is
approved or signed (moves.py)."""
from .models import CLAUSES


def clean_clauses(clauses: dict) -> dict:
    return {key: (clauses.get(key) or "").strip() for key in CLAUSES}
