"""Typed links shown on both ends. A module that links its records to another module's (the
accountability module links council needs to voucher programmes and pacts) registers here how to
list them from the other end; the other module's page asks the core for its record's backlinks and
never imports the module that made them (which imports it: tests/test_import_graph.py).

    register_backlinks(subject, provider)   provider(subject_ids) -> {subject id: [Backlink, …]}
    backlinks(subject, subject_id) -> [Backlink, …]

Subjects are plain names ("pact": a pact's id, "programme": a programme's slug). A provider answers
for many ids in a fixed number of statements, so a list page could ask for a whole page at once."""
from collections.abc import Callable
from dataclasses import dataclass, field

PROVIDERS: dict[str, list[Callable]] = {}


@dataclass(frozen=True)
class Backlink:
    kind: object            # what the link means, read from this end (a lazy string)
    title: str              # the linked record's title
    endpoint: str           # its page
    values: dict = field(default_factory=dict)


def register_backlinks(subject: str, provider: Callable) -> Callable:
    """Add a provider of backlinks to `subject` records. Usable as a decorator factory's result."""
    found = PROVIDERS.setdefault(subject, [])
    if provider not in found:
        found.append(provider)
    return provider


def backlinks(subject: str, subject_id) -> list[Backlink]:
    """Every backlink of one record, provider by provider in registration order."""
    links = []
    for provider in PROVIDERS.get(subject, []):
        links += provider([subject_id]).get(subject_id, [])
    return links
