"""Vocabulary for the role matrix: who each route is for.

Each test package (tests/app, tests/pacts, …) has a matrix.py with
EXPECTED = {endpoint: rule} and samples(ctx) -> {endpoint: url values}."""
from app.accounts.models import Role

PUBLIC = "public"          # anyone, signed in or not
ANY_USER = "any_user"      # any signed-in account
IDENTITIES = ("anonymous", *[r.value for r in Role])


def roles(*names) -> frozenset:
    return frozenset(Role(n) for n in names)


OFFICIALS = roles("official", "admin")
