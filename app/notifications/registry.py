"""What can happen, who hears about it, and what can be followed.

Each module declares its kinds of event once (in its `events.py`, imported by
the factory): a translatable sentence, a link, and who besides the followers
must hear about it."""
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .models import Mode


@dataclass(frozen=True)
class EventKind:
    kind: str
    sentence: object                 # lazy string with %(name)s placeholders filled from params(event)
    label: object                    # what the preferences page calls this kind
    link: Callable                   # event -> URL path of the page the notice points to
    audience: Callable | None        # event -> user ids (an iterable, or a Select of one id column)
    default_mode: Mode
    params: Callable | None          # event -> the sentence's values, in the current locale
    # About the recipient's own account (a reset link): by email, at once, whatever their
    # preferences; never in the notification centre; `link(event, user)` is made per recipient
    # when the email is written, so a secret in it is never stored.
    personal: bool = False

    def values(self, event) -> dict:
        return dict(self.params(event) if self.params else event.context)

    def text(self, event) -> str:
        """The sentence in the current locale (force_locale picks the recipient's)."""
        try:
            return str(self.sentence) % self.values(event)
        except (KeyError, TypeError, ValueError):
            return str(self.label)


@dataclass(frozen=True)
class SubjectType:
    name: str
    label: object
    title: Callable   # subject id -> (title, url path), or None when there is no such subject


@dataclass(frozen=True)
class Reminder:
    """One time-based notice a provider wants sent: once per `key`, ever."""
    kind: str
    subject_type: str
    subject_id: int
    recipients: Iterable[int]
    key: str
    context: dict = field(default_factory=dict)


KINDS: dict[str, EventKind] = {}
SUBJECTS: dict[str, SubjectType] = {}
REMINDERS: list[Callable] = []


def register_event(kind: str, *, sentence, link: Callable, audience: Callable | None = None,
                   default_mode: str = Mode.IMMEDIATE.value, label=None, params: Callable | None = None,
                   personal: bool = False) -> EventKind:
    """Declare a kind of event. `sentence` is an `_l("… %(title)s …")` filled from the
    event's context (or from `params(event)`), `link(event)` the path it points to,
    `audience(event)` who hears besides the subject's followers. `personal`: see EventKind."""
    entry = EventKind(kind, sentence, label or kind, link, audience, Mode(default_mode), params, personal)
    KINDS[kind] = entry
    return entry


def followable_kinds() -> list[EventKind]:
    """The kinds a person chooses how to hear about (the personal ones always come by email)."""
    return sorted((k for k in KINDS.values() if not k.personal), key=lambda k: k.kind)


def register_subject(name: str, *, label, title: Callable) -> SubjectType:
    """Declare something people may follow; `title(id)` gives (title, path) or None."""
    entry = SubjectType(name, label, title)
    SUBJECTS[name] = entry
    return entry


def register_reminder(provider: Callable) -> Callable:
    """Add a reminder provider: `provider(today)` yields `Reminder`s. Usable as a decorator."""
    if provider not in REMINDERS:
        REMINDERS.append(provider)
    return provider


