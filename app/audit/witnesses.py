"""Witnesses of the audit trail: places outside the database where the chain's head (how many
entries, the last one's hash) is published, daily, by `flask --app app audit publish-head`.

The keyed hashes stop anyone without AUDIT_KEY from rewriting entries; they cannot stop someone
from deleting the newest ones, which leaves a shorter chain that still verifies. A head kept
elsewhere can: `audit verify` checks the chain against every head the witnesses give back.

The city configures a folder (PROCOMUN_AUDIT_WITNESS_DIR: one JSON line appended per
publication; mount it from another machine, or make the file append-only) and an address
(PROCOMUN_AUDIT_WITNESS_EMAIL: a mailbox nobody with database access can edit; its heads are
given back to `verify` with --head). Another kind of witness (signed checkpoints in open data)
plugs in with `register_witness`."""
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Protocol

from flask import current_app

from ..database import utcnow
from ..notifications import mail
from .operations import ChainHead, verify


class WitnessError(Exception):
    """A witness could not take the head (its folder or mail server refused)."""


class AuditTrailBroken(Exception):
    """The chain does not verify: its head is not published (that would vouch for it)."""


class Witness(Protocol):
    name: str

    def publish(self, head: ChainHead) -> None:
        """Keep `head` where the database's users cannot change it."""

    def heads(self) -> list[ChainHead]:
        """The heads published so far, as far as this witness can give them back."""


def head_line(head: ChainHead, city: str) -> str:
    return json.dumps({"at": head.at.isoformat(timespec="seconds") if head.at else None, "city": city,
                       "count": head.count, "last_id": head.last_id, "hash": head.hash}, sort_keys=True)


def parse_head(text: str, source: str = "--head") -> ChainHead:
    """A head written as `COUNT:HASH` (as the witness email gives it)."""
    count, _, digest = text.strip().partition(":")
    if not count.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"not a head (COUNT:HASH, the hash in 64 hex digits): {text!r}")
    return ChainHead(int(count), None, digest, None, source)


@dataclass
class FileWitness:
    folder: Path
    filename = "audit-heads.jsonl"

    @property
    def path(self) -> Path:
        return self.folder / self.filename

    @property
    def name(self) -> str:
        return f"the file {self.path}"

    def publish(self, head: ChainHead) -> None:
        line = head_line(head, current_app.config["PROCOMUN_CITY_NAME"]) + "\n"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # O_APPEND: each publication adds a line at the end and never rewrites what is there.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as error:
            raise WitnessError(f"{self.name}: {error}") from None

    def heads(self) -> list[ChainHead]:
        if not self.path.exists():
            return []
        heads = []
        for number, line in enumerate(self.path.read_text().splitlines(), 1):
            try:
                value = json.loads(line)
                heads.append(ChainHead(int(value["count"]), value.get("last_id"), str(value["hash"]),
                                       datetime.fromisoformat(value["at"]) if value.get("at") else None,
                                       f"{self.name}, line {number}"))
            except (ValueError, KeyError, TypeError):
                raise WitnessError(f"{self.name}, line {number}: not a head ({line[:80]!r})") from None
        return heads


@dataclass
class EmailWitness:
    address: str

    @property
    def name(self) -> str:
        return f"an email to {self.address}"

    def publish(self, head: ChainHead) -> None:
        city = current_app.config["PROCOMUN_CITY_NAME"]
        subject = f"Procomún · {city}: audit trail head, {head.count} entries"
        text = (f"The audit trail of Procomún · {city} on {head.at.isoformat(timespec='seconds')}:\n"
                f"{head.count} entries, the last one #{head.last_id}, hash {head.hash}.\n\n"
                f"Keep this email. To check the trail against it, run:\n"
                f"  flask --app app audit verify --head {head.count}:{head.hash}\n\n"
                f"{head_line(head, city)}\n")
        message = mail.build(to=self.address, subject=subject, text=text, html=f"<pre>{text}</pre>",
                             unsubscribe_url=None)
        try:
            with mail.transport() as transport:
                transport.send(message, 0)
        except (mail.TransientError, mail.PermanentError) as error:
            raise WitnessError(f"{self.name}: {error}") from None

    def heads(self) -> list[ChainHead]:
        return []  # a mailbox cannot be read from here: its heads come back through --head


def _file_witness(config) -> Witness | None:
    folder = config.get("PROCOMUN_AUDIT_WITNESS_DIR")
    return FileWitness(Path(folder)) if folder else None


def _email_witness(config) -> Witness | None:
    address = config.get("PROCOMUN_AUDIT_WITNESS_EMAIL")
    return EmailWitness(address) if address else None


WITNESS_KINDS: list[Callable] = [_file_witness, _email_witness]


def register_witness(factory: Callable) -> Callable:
    """Add a kind of witness: `factory(app.config)` gives a Witness, or None when not configured."""
    if factory not in WITNESS_KINDS:
        WITNESS_KINDS.append(factory)
    return factory


def configured_witnesses() -> list[Witness]:
    return [w for factory in WITNESS_KINDS if (w := factory(current_app.config)) is not None]


def published_heads(witnesses) -> list[ChainHead]:
    return [head for witness in witnesses for head in witness.heads()]


def publish_head(witnesses) -> tuple[ChainHead, list[str]]:
    """Verify the chain against every head published so far, then give its head to each witness.
    A chain that does not verify is not vouched for: AuditTrailBroken, nothing published. Returns
    the head and the witnesses that refused it (each one is tried)."""
    result = verify(published_heads(witnesses))
    if not result.ok:
        raise AuditTrailBroken(result)
    head = ChainHead(result.head.count, result.head.last_id, result.head.hash, utcnow())
    refused = []
    for witness in witnesses:
        try:
            witness.publish(head)
        except WitnessError as error:
            refused.append(str(error))
    return head, refused
