"""Voucher codes: every single-character typo and every adjacent swap is caught."""
import itertools
import random

import pytest

from vouchers import codes


def test_new_codes_are_grouped_valid_and_unambiguous():
    for _ in range(200):
        code = codes.new_code()
        assert len(code) == 14 and code[4] == "-" and code[9] == "-"
        assert codes.normalise(code) == code
        assert not set(code.replace("-", "")) & set("01ILOUZ")


def test_typing_is_forgiven_for_case_spaces_and_dashes():
    code = codes.new_code()
    assert codes.normalise(code.lower().replace("-", " ")) == code
    assert codes.normalise(code.replace("-", "")) == code


def test_alphabet_size_is_prime():
    n = codes.MODULUS
    assert n == len(set(codes.ALPHABET)) and all(n % d for d in range(2, n))


def test_every_single_substitution_at_every_position_is_caught():
    """Exhaustive over positions × replacement symbols, for many random codes; and
    exhaustive over all (position, old, new) triples, since detection depends only on them."""
    weights = range(1, codes.LENGTH + 1)
    for w in weights:
        for a, b in itertools.permutations(range(codes.MODULUS), 2):
            assert (w * (a - b)) % codes.MODULUS != 0
    rng = random.Random(5)
    for _ in range(50):
        compact = codes.new_code().replace("-", "")
        for i in range(codes.LENGTH):
            for c in codes.ALPHABET:
                if c != compact[i]:
                    typo = compact[:i] + c + compact[i + 1:]
                    assert not codes.is_valid_compact(typo)
                    with pytest.raises(codes.CodeError) as error:
                        codes.normalise(typo)
                    assert error.value.reason == "check"
        rng.random()


def test_every_adjacent_transposition_is_caught():
    for i in range(codes.LENGTH - 1):
        wi, wj = i + 1, i + 2
        for a, b in itertools.permutations(range(codes.MODULUS), 2):
            # Swapping a (at i) and b (at i+1) changes the sum by (wi - wj)(b - a).
            assert ((wi - wj) * (b - a)) % codes.MODULUS != 0
    for _ in range(200):
        compact = codes.new_code().replace("-", "")
        for i in range(codes.LENGTH - 1):
            if compact[i] != compact[i + 1]:
                swapped = compact[:i] + compact[i + 1] + compact[i] + compact[i + 2:]
                assert not codes.is_valid_compact(swapped)


@pytest.mark.parametrize("typed", ["", "ABCD", "ABCD-EFGH-JKM0", "ABCD-EFGH-JKMN-P", "ABCD-EFGH-JKMI"])
def test_malformed_codes(typed):
    with pytest.raises(codes.CodeError) as error:
        codes.normalise(typed)
    assert error.value.reason == "malformed"


def test_bulk_codes_are_exactly_new_codes_draws(monkeypatch):
    """new_codes maps each accepted 64-bit draw to the same code as new_code, rejects the same
    draws (no bias), and gives valid codes: fed the same bytes, both give the same codes."""
    import secrets
    import struct
    stream = random.Random(7)
    drawn = []

    def token_bytes(n):
        data = stream.randbytes(n)
        drawn.append(data)
        return data
    monkeypatch.setattr(secrets, "token_bytes", token_bytes)
    bulk = list(codes.new_codes(3000))
    monkeypatch.undo()
    accepted = [n for data in drawn for n in struct.unpack(f">{len(data) // 8}Q", data) if n < codes._LIMIT]
    assert bulk == [codes._grouped(n % codes._SPACE) for n in accepted[:3000]]
    assert all(codes.normalise(c) == c for c in bulk)
    assert len(list(codes.new_codes(1))) == 1 and list(codes.new_codes(0)) == []


def _with(code: str, position: int, typed: str) -> str:
    return code[:position] + typed + code[position + 1:]


def test_full_width_forms_and_wide_separators_read_as_a_person_means_them():
    """An input method in full-width mode, or a code pasted from a PDF (no-break spaces, en dashes)."""
    code = codes.new_code()
    full_width = "".join(chr(ord(c) + 0xFEE0) if c != "-" else "\uff0d" for c in code)
    assert codes.normalise(full_width) == code
    assert codes.normalise(full_width.lower()) == code
    for separator in ("\u00a0", "\u202f", "\u3000", "\u2013", "\u2014", "\u2011", "\u2212", " - "):
        assert codes.normalise(code.replace("-", separator)) == code


# Characters that str.upper() or Unicode compatibility (NFKC) would turn into a symbol of the
# alphabet, but that nobody types meaning it: refused, never mapped.
LOOK_ALIKES = {
    "S": ["ſ", "Ѕ", "\U0001d412"],                 # long s (upper() gives S), Cyrillic Dze, bold S
    "K": ["\u212a", "К", "Κ"],                      # Kelvin sign, Cyrillic Ka, Greek Kappa
    "A": ["А", "Α", "\U0001d400", "ａ\u0301"],      # Cyrillic, Greek, bold A; a with a combining accent
    "H": ["Н", "Η", "ℍ"],
    "2": ["²", "₂", "②", "\U0001d7d0"],            # superscript, subscript, circled, bold two
    "F": ["ﬀ"],                                    # the ff ligature upper()s to "FF"
}


@pytest.mark.parametrize("symbol, look_alike", [(s, c) for s, cs in LOOK_ALIKES.items() for c in cs])
def test_look_alikes_are_refused_not_mapped(symbol, look_alike):
    while symbol not in (code := codes.new_code()):
        pass
    position = code.index(symbol)
    with pytest.raises(codes.CodeError) as error:
        codes.normalise(_with(code, position, look_alike))
    assert error.value.reason == "malformed"


def test_only_the_chosen_characters_map_to_a_symbol():
    """Exhaustive over every Unicode character, put in place of one symbol of a valid code: it is
    accepted only if it is that symbol in ASCII or full width, upper or lower case."""
    code = codes.new_code()
    symbol = code[0]
    meant = {symbol, symbol.lower(), chr(ord(symbol) + 0xFEE0), chr(ord(symbol.lower()) + 0xFEE0)}
    accepted = set()
    for point in range(0x110000):
        if 0xD800 <= point <= 0xDFFF:
            continue
        try:
            codes.normalise(_with(code, 0, chr(point)))
        except codes.CodeError:
            continue
        accepted.add(chr(point))
    assert accepted == meant
