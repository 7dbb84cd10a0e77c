#!/usr/bin/env python3
"""Check a Procomún city's books from the outside: one file, Python 3.11, standard library only.

    python3 verify_books.py BASE_URL --key PUBLIC_KEY [--transfer ID ...] [--leaf FILE ...]
                            [--witness KEY ...] [--quick] [--remember FILE]

BASE_URL is the site (https://procomun.city.example); PUBLIC_KEY the city's key as the city
published it out of band (its official journal): the verifier key `name+hash+base64` that
`flask --app app books key` prints, or the raw key in base64. The verifier

1. fetches every checkpoint (BASE_URL/open-data/checkpoints.json) and checks each one's signed
   note against the key (and the witnesses' signatures against their keys);
2. checks, with the site's consistency proofs, that each checkpoint's two trees (the voucher
   ledger and the audit trail) extend the previous checkpoint's: nothing signed was ever rewritten;
3. checks that each transfer given with --transfer is in the latest checkpoint, as it reads now,
   from its public leaf hash (the site publishes no transfer's contents: they are personal data);
   with --leaf FILE, a transfer's own bytes as one of its parties downloaded them ("Download the
   entry" beside their movements, or GET /api/v1/books/transfers/ID/leaf with their token): the
   verifier hashes the file, checks that the id inside is the transfer proved, and that exactly
   THAT hash is in the latest checkpoint — so what the party was shown is what the city signed;
4. with --remember FILE, checks that the checkpoint it saw last time is still published as it was
   (a city that rewrote its books and signed them afresh cannot hide it from a returning auditor);
5. unless --quick, rebuilds every checkpoint's trees from every row as the site serves it now
   (BASE_URL/api/v1/books/leaves): a row changed or removed since it was signed is named.

It prints what it checked and exits 0 when the books hold, 1 at the first thing that does not.
The trees are RFC 9162's (leaf = SHA-256(0x00 || bytes), node = SHA-256(0x01 || left || right));
notes are C2SP signed notes; hashes travel in base64.

The Ed25519 verification below is the reference code of RFC 8032 §6 (Josefsson and Liusvaara,
2017), which the RFC's authors placed in the public domain; only its verify half is kept."""
import argparse
import base64
import hashlib
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

# Ed25519 verification: RFC 8032 §6 reference code (public domain) --------------------------

_P = 2**255 - 19
_Q = 2**252 + 27742317777372353535851937790883648493


def _inv(x):
    return pow(x, _P - 2, _P)


_D = -121665 * _inv(121666) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _add(P, Q):
    A, B = (P[1] - P[0]) * (Q[1] - Q[0]) % _P, (P[1] + P[0]) * (Q[1] + Q[0]) % _P
    C, D = 2 * P[3] * Q[3] * _D % _P, 2 * P[2] * Q[2] % _P
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F, G * H, F * G, E * H)


def _mul(s, P):
    Q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            Q = _add(Q, P)
        P = _add(P, P)
        s >>= 1
    return Q


def _equal(P, Q):
    return (P[0] * Q[2] - Q[0] * P[2]) % _P == 0 and (P[1] * Q[2] - Q[1] * P[2]) % _P == 0


def _recover_x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * _inv(_D * y * y + 1)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


_GY = 4 * _inv(5) % _P
_GX = _recover_x(_GY, 0)
_G = (_GX, _GY, 1, _GX * _GY % _P)


def _decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    A = _decompress(public)
    R = _decompress(signature[:32])
    if A is None or R is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % _Q
    return _equal(_mul(s, _G), _add(R, _mul(h, A)))


# RFC 9162 Merkle trees ------------------------------------------------------------------------

def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def verify_inclusion(index, size, leaf, proof, root) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_root, second_root, proof) -> bool:
    """RFC 9162 §2.1.4.2."""
    if first == second:
        return not proof and first_root == second_root
    if first == 0 or first > second or not proof:
        return False
    if first & (first - 1) == 0:
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


class Frontier:
    """A tree growing leaf by leaf, its root readable at any size."""

    def __init__(self):
        self.size, self.edge = 0, {}

    def append(self, leaf: bytes) -> None:
        index, level, current = self.size, 0, leaf
        while index & 1:
            current = node_hash(self.edge.pop(level), current)
            index >>= 1
            level += 1
        self.edge[level] = current
        self.size += 1

    def root(self) -> bytes:
        if not self.size:
            return EMPTY_ROOT
        levels = sorted(self.edge)
        result = self.edge[levels[0]]
        for level in levels[1:]:
            result = node_hash(self.edge[level], result)
        return result


# Signed notes (C2SP signed-note) ------------------------------------------------------------

class Failure(Exception):
    """The books do not hold: the first thing found wrong."""


def key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]


def parse_key(text: str, default_name: str | None = None) -> tuple[str, bytes]:
    """A raw key in base64 (named default_name), or a verifier key `name+hash+base64(0x01||key)`.
    The raw form is tried first: its base64 may hold "+" signs of its own, and between two of them
    eight characters that look like a verifier key's hash."""
    text = text.strip()
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raw = b""
    if len(raw) == 32:
        if default_name is None:
            raise ValueError(f"a raw key needs the books' name: {text!r}")
        return default_name, raw
    parts = text.split("+", 2)
    if len(parts) == 3 and len(parts[1]) == 8:
        name, hash_hex, encoded = parts
        raw = base64.b64decode(encoded)
        if len(raw) != 33 or raw[0] != 1 or key_hash(name, raw[1:]).hex() != hash_hex:
            raise ValueError(f"not an Ed25519 verifier key: {text!r}")
        return name, raw[1:]
    raise ValueError(f"not an Ed25519 key: {text!r}")


def split_note(note: str) -> tuple[str, list[str]]:
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise Failure("a note has no blank line before its signatures")
    return text + "\n", signatures.splitlines()


def signed_by(text: str, lines: list[str], name: str, public: bytes) -> bool:
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014" or parts[1] != name:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            continue
        if len(blob) == 68 and blob[:4] == key_hash(name, public) and ed25519_verify(public, text.encode(), blob[4:]):
            return True
    return False


def parse_checkpoint(text: str) -> dict:
    lines = text.rstrip("\n").split("\n")
    try:
        head = {"origin": lines[0], "ledger": (int(lines[1]), base64.b64decode(lines[2]))}
        for extension in lines[3:]:
            word, _, rest = extension.partition(" ")
            if word == "audit":
                size, root = rest.split(" ")
                head["audit"] = (int(size), base64.b64decode(root))
            elif word == "time":
                head["time"] = rest
        head["audit"]  # noqa: B018  (present in every checkpoint)
    except (IndexError, ValueError, KeyError):
        raise Failure(f"a checkpoint note cannot be read: {text!r}") from None
    return head


# Talking to the site -------------------------------------------------------------------------

class Site:
    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.requests = 0

    def get(self, path: str, **query):
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        self.requests += 1
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}),
                                        timeout=60) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as error:
            try:
                reason = json.load(error).get("message", "")
            except ValueError:
                reason = ""
            raise Failure(f"{url} answered {error.code} {reason}".strip()) from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise Failure(f"cannot read {url}: {error}") from None


def b64list(values) -> list[bytes]:
    return [base64.b64decode(v) for v in values]


# The checks ------------------------------------------------------------------------------------

LOGS = ("ledger", "audit")


def check_signatures(published: dict, key: tuple[str, bytes], witnesses: dict, say) -> list[dict]:
    heads = []
    for entry in published["checkpoints"]:
        text, lines = split_note(entry["note"])
        if not signed_by(text, lines, *key):
            raise Failure(f"checkpoint {entry['id']} ({entry.get('url')}) is not signed by the key {key[0]}")
        head = parse_checkpoint(text)
        if head["origin"] != key[0]:
            raise Failure(f"checkpoint {entry['id']} names the log {head['origin']!r}, not {key[0]!r}")
        head["id"], head["url"], head["text"] = entry["id"], entry.get("url", ""), text
        head["witnesses"] = sorted(name for name, (public, _) in witnesses.items()
                                   if signed_by(text, lines, name, public))
        heads.append(head)
    say(f"Signatures: {len(heads)} checkpoints signed by {key[0]}.")
    for name, (_, source) in sorted(witnesses.items()):
        signed = [str(h["id"]) for h in heads if name in h["witnesses"]]
        listed = f": {', '.join(signed)}" if signed else "."
        say(f"  Witness {name} ({source}) signed {len(signed)} checkpoints{listed}")
    return heads


def check_consistency(site: Site, heads: list[dict], say) -> None:
    proofs = 0
    for before, after in zip(heads, heads[1:]):
        for log in LOGS:
            (first, first_root), (second, second_root) = before[log], after[log]
            if second < first:
                raise Failure(f"checkpoint {after['id']} has fewer {log} entries ({second}) than checkpoint "
                              f"{before['id']} ({first}): the {log} log was cut")
            if first == 0:
                continue
            proof = [] if first == second else b64list(
                site.get("/api/v1/books/proofs/consistency", log=log, first=first, second=second)["proof"])
            if not verify_consistency(first, second, first_root, second_root, proof):
                raise Failure(f"the {log} tree of checkpoint {after['id']} does not extend checkpoint "
                              f"{before['id']}'s: entries signed before were rewritten")
            proofs += 1
    say(f"Consistency: each checkpoint extends the one before it ({proofs} proofs checked).")


def check_transfers(site: Site, latest: dict, transfers, say) -> None:
    """Each transfer's public leaf hash and proof against the latest signed root."""
    size, root = latest["ledger"]
    for transfer_id in transfers:
        answer = site.get("/api/v1/books/proofs/inclusion", log="ledger", leaf=transfer_id, size=size)
        if not verify_inclusion(answer["index"], size, base64.b64decode(answer["leaf_hash"]),
                                b64list(answer["proof"]), root):
            raise Failure(f"transfer {transfer_id} as it reads now is not the one checkpoint {latest['id']} signed")
        say(f"Transfer {transfer_id}: in checkpoint {latest['id']} as entry {answer['index']} "
            f"(leaf hash {answer['leaf_hash']}).")


def read_leaf(path: str) -> tuple[bytes, dict]:
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise Failure(f"cannot read {path}: {error}") from None
    try:
        fields = json.loads(data)
    except ValueError:
        raise Failure(f"{path} is not a transfer's leaf (not JSON)") from None
    if not isinstance(fields, dict) or not isinstance(fields.get("id"), int):
        raise Failure(f"{path} is not a transfer's leaf (no id)")
    return data, fields


def check_leaves(site: Site, latest: dict, paths, say) -> None:
    """Each downloaded leaf, byte for byte: its own hash (not the site's) must prove into the
    latest signed root at the position the site gives for the id written inside it."""
    size, root = latest["ledger"]
    for path in paths:
        data, fields = read_leaf(path)
        transfer_id = fields["id"]
        answer = site.get("/api/v1/books/proofs/inclusion", log="ledger", leaf=transfer_id, size=size)
        if answer.get("leaf") != transfer_id:
            raise Failure(f"{path}: the site proved entry {answer.get('leaf')}, not transfer {transfer_id}")
        if not verify_inclusion(answer["index"], size, leaf_hash(data), b64list(answer["proof"]), root):
            raise Failure(f"{path}: transfer {transfer_id} as this file says it is not the one checkpoint "
                          f"{latest['id']} signed (the file was altered, or the books were)")
        say(f"Leaf {path}: transfer {transfer_id}, in checkpoint {latest['id']} as entry {answer['index']}, exactly "
            f"as the file says: {fields.get('kind')} of {fields.get('amount')} {fields.get('currency')} from account "
            f"{fields.get('debit')} to account {fields.get('credit')} at {fields.get('at')}.")


def _first_changed(site: Site, log: str, head: dict, start: int, leaves: list) -> str:
    """Which of the leaves from `start` no longer proves into the checkpoint (a few proofs)."""
    size, root = head[log]
    for leaf in leaves[start:size][:2000]:
        answer = site.get("/api/v1/books/proofs/inclusion", log=log, leaf=leaf["leaf"], size=size)
        if not verify_inclusion(answer["index"], size, base64.b64decode(answer["leaf_hash"]),
                                b64list(answer["proof"]), root):
            return f"entry {leaf['leaf']} (leaf {leaf['index']})"
    return f"an entry between leaves {start} and {size - 1}"


def check_rows(site: Site, heads: list[dict], say) -> None:
    for log in LOGS:
        size = heads[-1][log][0]
        leaves = []
        while len(leaves) < size:
            page = site.get("/api/v1/books/leaves", log=log, start=len(leaves), count=1000)
            if not page:
                break
            leaves += page
        frontier, done = Frontier(), 0
        for head in heads:
            wanted, root = head[log]
            while frontier.size < wanted:
                if frontier.size >= len(leaves) or leaves[frontier.size]["index"] != frontier.size:
                    raise Failure(f"leaf {frontier.size} of the {log} log is gone (signed in checkpoint {head['id']})")
                leaf = leaves[frontier.size]
                if leaf["leaf_hash"] is None:
                    raise Failure(f"{log} entry {leaf['leaf']} (leaf {leaf['index']}) is missing: it was signed in "
                                  f"checkpoint {head['id']}")
                frontier.append(base64.b64decode(leaf["leaf_hash"]))
            if frontier.root() != root:
                raise Failure(f"the {log} rows no longer rebuild checkpoint {head['id']}'s tree: "
                              f"{_first_changed(site, log, head, done, leaves)} was changed since it was signed")
            done = wanted
        say(f"Rows: the {size} {log} entries rebuild every checkpoint's {log} tree.")


def check_remembered(path: str, heads: list[dict], say) -> None:
    """The checkpoint this verifier saw last time (--remember FILE) must still be published,
    word for word: a city that rewrote its books and signed them afresh would have dropped it."""
    try:
        with open(path) as file:
            seen = json.load(file)
    except FileNotFoundError:
        return
    except (OSError, ValueError) as error:
        raise Failure(f"cannot read {path}: {error}") from None
    same = [h for h in heads if h["id"] == seen["id"]]
    if not same or same[0]["text"] != seen["text"]:
        raise Failure(f"checkpoint {seen['id']}, seen on an earlier run ({path}), is no longer published as it "
                      "was: the books were rewritten")
    say(f"Remembered: checkpoint {seen['id']}, seen on an earlier run, is still published as it was.")


def remember(path: str, head: dict) -> None:
    with open(path, "w") as file:
        json.dump({"id": head["id"], "text": head["text"]}, file)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Check a Procomún city's signed books from the published data alone: the signatures, "
                    "that each checkpoint extends the one before, the given transfers' inclusion, and (unless "
                    "--quick) every leaf hash against every checkpoint. Exit status 0 when the books hold, 1 "
                    "at the first thing that does not.")
    parser.add_argument("base_url")
    parser.add_argument("--key", required=True, help="the city's public key (verifier key or base64)")
    parser.add_argument("--transfer", type=int, action="append", default=[],
                        help="a transfer id to prove from its public leaf hash")
    parser.add_argument("--leaf", metavar="FILE", action="append", default=[],
                        help="a transfer's leaf as one of its parties downloaded it (\"Download the entry\", or "
                             "/api/v1/books/transfers/ID/leaf): hashed here and proved byte for byte")
    parser.add_argument("--witness", action="append", default=[], help="a witness's verifier key")
    parser.add_argument("--quick", action="store_true", help="skip rebuilding the trees from every row")
    parser.add_argument("--remember", metavar="FILE", help="keep the latest checkpoint in FILE, and check on the "
                                                           "next run that it is still published as it was")
    args = parser.parse_args(argv)
    site = Site(args.base_url)

    def say(line):
        print(line, flush=True)

    try:
        published = site.get("/open-data/checkpoints.json")
        key = parse_key(args.key, published.get("origin"))
        witnesses = {}
        for text in args.witness:
            name, public = parse_key(text)
            witnesses[name] = (public, "key given with --witness")
        for listed in published.get("witnesses", []):
            name, public = parse_key(listed["key"])
            witnesses.setdefault(name, (public, "key as the city publishes it"))
        if not published["checkpoints"]:
            raise Failure("the site has published no checkpoint")
        say(f"{len(published['checkpoints'])} checkpoints published at {site.base}.")
        heads = check_signatures(published, key, witnesses, say)
        if args.remember:
            check_remembered(args.remember, heads, say)
        check_consistency(site, heads, say)
        latest = heads[-1]
        say(f"Latest: checkpoint {latest['id']} of {latest.get('time', '?')}: {latest['ledger'][0]} transfers, "
            f"{latest['audit'][0]} audit entries.")
        check_transfers(site, latest, args.transfer, say)
        check_leaves(site, latest, args.leaf, say)
        if not args.quick:
            check_rows(site, heads, say)
    except (Failure, ValueError, KeyError, TypeError) as error:
        print(f"FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    if args.remember:
        remember(args.remember, heads[-1])
    say(f"The books hold ({site.requests} requests).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
