"""A small state-machine helper: one transition table per machine, and one
translated refusal for any move the table does not allow."""
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from .errors import InvalidTransition


class StateMachine:
    def __init__(self, transitions: dict[StrEnum, set[StrEnum]], labels=None):
        self.transitions = transitions
        self.labels = labels or {}

    def allowed(self, current, target) -> bool:
        return target in self.transitions.get(current, set())

    def targets(self, current) -> set:
        return set(self.transitions.get(current, set()))

    def check(self, current, target) -> None:
        if not self.allowed(current, target):
            raise InvalidTransition(
                _l("This record cannot move from “%(current)s” to “%(target)s”.",
                   current=self.labels.get(current, current),
                   target=self.labels.get(target, target))
            )
