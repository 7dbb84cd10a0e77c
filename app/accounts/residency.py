"""Whether an account belongs to a verified resident: a question modules ask the core, answered by
the module that keeps the proof (the vouchers' eligibility lists, vouchers/eligibility.py, register
theirs). Pacts ask it here, so neither module imports the other. Without an answer registered,
nobody is verified."""
from collections.abc import Callable
from dataclasses import dataclass

from app.urls import external_url


@dataclass(frozen=True)
class Verifier:
    is_verified: Callable  # (user) -> bool
    endpoint: str          # the page where a resident verifies their account


_verifiers: list[Verifier] = []


def register_verifier(is_verified: Callable, endpoint: str) -> None:
    if not any(v.endpoint == endpoint for v in _verifiers):
        _verifiers.append(Verifier(is_verified, endpoint))


def is_verified_resident(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return any(verifier.is_verified(user) for verifier in _verifiers)


def verification_url() -> str:
    """The page where a resident verifies their account (the site's home when no module offers one)."""
    return external_url(_verifiers[0].endpoint) if _verifiers else external_url("main.home")
