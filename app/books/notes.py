"""Signed notes (C2SP signed-note, https://c2sp.org/signed-note) and the city's Ed25519 key.

A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
`— <key name> <base64(key hash (4 bytes) || Ed25519 signature (64 bytes))>`. The key hash is
the first 4 bytes of SHA-256(name || "\\n" || 0x01 || public key). A verifier key is written
`<name>+<key hash, 8 hex digits>+<base64(0x01 || public key)>`, as Go's sumdb/note writes it.

The private key lives in a file outside the database (PROCOMUN_BOOKS_KEY_FILE, PKCS#8 PEM);
in development and tests a key is made in the instance folder on first use, and production
refuses to start without the file (app/config.py)."""
import base64
import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

ED25519 = b"\x01"
DASH = "\u2014"


class NoteError(ValueError):
    """A note, a key or a signature that cannot be read or does not verify."""


def origin() -> str:
    """The log's name in every checkpoint and signature: the site's host and /books."""
    parts = urlsplit(current_app.config["PROCOMUN_BASE_URL"])
    return f"{parts.netloc}{parts.path}/books"


def key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def verifier_key(name: str, public: bytes) -> str:
    return f"{name}+{key_hash(name, public).hex()}+{base64.b64encode(ED25519 + public).decode()}"


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    """(name, raw public key) from a verifier key; refuses a malformed one or a wrong key hash."""
    parts = text.strip().split("+", 2)  # a name holds no "+"; base64 may
    if len(parts) != 3:
        raise NoteError("not an Ed25519 verifier key (name+hash+base64)")
    name, hash_hex, rest = parts
    try:
        raw = base64.b64decode(rest, validate=True)
    except ValueError:
        raise NoteError("the key is not base64") from None
    if not name or len(raw) != 33 or raw[:1] != ED25519:
        raise NoteError("not an Ed25519 verifier key (name+hash+base64)")
    if key_hash(name, raw[1:]).hex() != hash_hex:
        raise NoteError("the key's hash does not match its name and key")
    return name, raw[1:]


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def generate_key(path: Path) -> None:
    """A new Ed25519 key in a new file (PKCS#8 PEM, readable by its owner only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(pem)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as error:
        raise NoteError(f"cannot read the key in {path}: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise NoteError(f"{path} does not hold an Ed25519 private key")
    return key


def signing_key() -> Ed25519PrivateKey:
    """The city's books key, made in the instance folder on first use outside production."""
    path = Path(current_app.config["PROCOMUN_BOOKS_KEY_FILE"])
    if not path.exists() and current_app.config["PROCOMUN_ENV"] != "production":
        try:
            generate_key(path)
        except FileExistsError:
            pass  # another process made it first
    return load_private_key(path)


def city_public_key() -> bytes:
    return public_bytes(signing_key().public_key())


def sign(text: str, name: str, key: Ed25519PrivateKey) -> str:
    """The signature line of `key` under `name` on the note text."""
    signature = key.sign(text.encode())
    blob = key_hash(name, public_bytes(key.public_key())) + signature
    return f"{DASH} {name} {base64.b64encode(blob).decode()}\n"


def signed_note(text: str, lines: list[str]) -> str:
    return text + "\n" + "".join(lines)


def split_note(note: str) -> tuple[str, list[str]]:
    """The note's text (ending in its newline) and its signature lines."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise NoteError("no blank line before the signatures")
    return text + "\n", [line + "\n" for line in signatures.splitlines()]


def verify_line(text: str, line: str, name: str, public: bytes) -> bool:
    """Whether the signature line is `name`'s valid signature on `text`."""
    parts = line.rstrip("\n").split(" ")
    if len(parts) != 3 or parts[0] != DASH or parts[1] != name:
        return False
    try:
        blob = base64.b64decode(parts[2], validate=True)
    except ValueError:
        return False
    if len(blob) != 68 or blob[:4] != key_hash(name, public):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(blob[4:], text.encode())
    except InvalidSignature:
        return False
    return True
