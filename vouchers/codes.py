"""Voucher codes a person can read out and type: XXXX-XXXX-XXXX.

The alphabet has 29 symbols (a prime): digits and capitals without the
look-alikes 0/O, 1/I/L, U (read as V) and Z (read as 2). The last character is
a check character: the weighted sum of all twelve values, with weights 1…12,
is 0 modulo 29. Because 29 is prime and every weight and every difference of
adjacent weights is non-zero modulo 29, any single wrong character and any
swap of two neighbouring characters changes the sum and is caught (tested
exhaustively in tests/vouchers/test_codes.py)."""
import secrets
import struct
from operator import mul

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXY"
MODULUS = len(ALPHABET)  # 29, prime
VALUES = {c: i for i, c in enumerate(ALPHABET)}
PAYLOAD = 11
LENGTH = PAYLOAD + 1
GROUP = 4
_SYMBOLS = frozenset(ALPHABET)
_WEIGHTS = range(1, LENGTH + 1)


class CodeError(ValueError):
    """A code that is malformed or whose check character fails."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "malformed" or "check"


def check_character(payload: str) -> str:
    total = sum((i + 1) * VALUES[c] for i, c in enumerate(payload))
    # Find c with total + LENGTH * c ≡ 0 (mod 29): c = -total * LENGTH⁻¹.
    return ALPHABET[(-total * pow(LENGTH, -1, MODULUS)) % MODULUS]


def is_valid_compact(compact: str) -> bool:
    if len(compact) != LENGTH or not _SYMBOLS.issuperset(compact):
        return False
    return sum(map(mul, _WEIGHTS, map(VALUES.__getitem__, compact))) % MODULUS == 0


def group(compact: str) -> str:
    return f"{compact[0:4]}-{compact[4:8]}-{compact[8:12]}"  # GROUP by GROUP, as _grouped writes it


_SPACE = MODULUS ** PAYLOAD
_LIMIT = (2**64 // _SPACE) * _SPACE  # below this, n % _SPACE is uniform
_INVERSE = pow(LENGTH, -1, MODULUS)


def _grouped(n: int) -> str:
    """The code for a uniform n in [0, 29**11): its eleven base-29 digits, then the check character."""
    chars, total = [], 0
    for i in range(PAYLOAD):
        n, value = divmod(n, MODULUS)
        chars.append(ALPHABET[value])
        total += (i + 1) * value
    chars.append(ALPHABET[(-total * _INVERSE) % MODULUS])
    c = "".join(chars)
    return f"{c[0:4]}-{c[4:8]}-{c[8:12]}"


def new_code() -> str:
    """A random code (64 bits from the OS's CSPRNG, mapped without bias), grouped."""
    n = int.from_bytes(secrets.token_bytes(8), "big")
    while n >= _LIMIT:
        n = int.from_bytes(secrets.token_bytes(8), "big")
    return _grouped(n % _SPACE)


# Bulk issuance: the same draw and mapping as new_code, from one read of the CSPRNG per
# thousand codes, and three base-29 digits per step (a table of 29**3 entries with each
# triple's characters and its two weighted sums) instead of one.
_TRIPLE = MODULUS ** 3
_TRIPLES = [("".join(ALPHABET[v] for v in digits), sum(digits), digits[1] + 2 * digits[2])
            for digits in ((t % MODULUS, t // MODULUS % MODULUS, t // MODULUS ** 2) for t in range(_TRIPLE))]
_UNPACK = struct.Struct(">1000Q")


def new_codes(count: int):
    """`count` random codes, each exactly as new_code() would draw it (same distribution)."""
    triples, space, limit, inverse = _TRIPLES, _SPACE, _LIMIT, _INVERSE
    made = 0
    while made < count:
        for n in _UNPACK.unpack(secrets.token_bytes(_UNPACK.size)):
            if n >= limit:
                continue  # rejected, as in new_code: keeps every code equally likely
            n %= space
            n, t = divmod(n, _TRIPLE)
            c0, s0, w0 = triples[t]            # payload positions 1-3 (weights 1, 2, 3)
            n, t = divmod(n, _TRIPLE)
            c1, s1, w1 = triples[t]            # positions 4-6
            c2, s2, w2 = triples[n % _TRIPLE]  # positions 7-9
            n //= _TRIPLE                      # positions 10-11: n < 29**2
            d9, d10 = n % MODULUS, n // MODULUS
            total = (s0 + w0) + (4 * s1 + w1) + (7 * s2 + w2) + 10 * d9 + 11 * d10
            c = f"{c0}{c1}{c2}{ALPHABET[d9]}{ALPHABET[d10]}{ALPHABET[(-total * inverse) % MODULUS]}"
            yield f"{c[0:4]}-{c[4:8]}-{c[8:12]}"
            made += 1
            if made == count:
                return


def _typed_forms() -> dict[int, str | None]:
    """What a person typing a code may mean, character by character, decided for each: a symbol
    of the alphabet in either case, as typed on a keyboard or in a Japanese or Chinese input
    method's full-width mode (U+FF01…); spaces and dashes of any width between groups (a code
    copied from a PDF or an email brings a no-break space or an en dash). Nothing else maps: not
    `str.upper()`'s reach (ſ → S, ﬀ → FF, ı → I), nor the look-alikes of other scripts (Cyrillic
    А, Greek Α, the Kelvin sign K, mathematical 𝐀), which only a forger or a mistaken paste brings."""
    forms: dict[int, str | None] = {}
    for symbol in ALPHABET:
        for variant in {symbol, symbol.lower()}:
            forms[ord(variant)] = symbol
            forms[ord(variant) + 0xFEE0] = symbol  # its full-width form: FF10-FF19, FF21-FF3A, FF41-FF5A
    for separator in " \t-\u00a0\u2007\u202f\u3000\u2010\u2011\u2012\u2013\u2014\u2212\uff0d":
        forms[ord(separator)] = None
    return forms


_TYPED = _typed_forms()


def normalise(typed: str) -> str:
    """The canonical grouped code for what someone typed, or CodeError.

    Each character is read through an explicit table (_typed_forms): case, full-width forms,
    spaces and dashes are forgiven; anything else is not guessed."""
    compact = (typed or "").translate(_TYPED)
    if len(compact) != LENGTH or not _SYMBOLS.issuperset(compact):
        raise CodeError("malformed")
    if not is_valid_compact(compact):
        raise CodeError("check")
    return group(compact)
