"""The Merkle tree of RFC 9162 (Certificate Transparency 2.0), §2.1: hashes, and the ranges of
leaves whose hashes make an inclusion or a consistency proof.

Nothing here reads the database. A tree is stored as its complete subtrees (tlog-tiles style,
as Go's golang.org/x/mod/sumdb/tlog keeps it): the node (level, index) is the hash of the
2**level leaves from index * 2**level, written once when its last leaf arrives and never changed.
Every hash a proof needs, MTH of any range the RFC's recursion visits, is a right fold of
O(log n) such nodes (`range_nodes`), so a proof reads a bounded number of rows whatever the size."""
import hashlib

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where RFC 9162 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(lo: int, hi: int) -> list[tuple[int, int]]:
    """The complete subtrees, (level, index), whose right fold is MTH(D[lo:hi]), for the ranges
    the RFC's recursion reaches (lo a multiple of the largest power of two not above hi - lo)."""
    nodes = []
    while hi - lo > 0:
        size = hi - lo
        if size & (size - 1) == 0:
            level = size.bit_length() - 1
            nodes.append((level, lo >> level))
            break
        k = split(size)
        level = k.bit_length() - 1
        nodes.append((level, lo >> level))
        lo += k
    return nodes


def fold(hashes: list[bytes]) -> bytes:
    """MTH of a range from its `range_nodes` hashes: node(h1, node(h2, … node(hm-1, hm)))."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1 as the ranges whose MTHs it lists, leaf side first."""
    if not 0 <= index < size:
        raise ValueError("leaf index outside the tree")
    ranges = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split(hi - lo)
        if index - lo < k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    return list(reversed(ranges))


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1 (SUBPROOF with b = true) as ranges, in proof order."""
    if not 0 < first <= second:
        raise ValueError("sizes must satisfy 0 < first <= second")
    if first == second:
        return []
    ranges = []
    m, lo, hi, whole = first, 0, second, True
    while m != hi - lo:
        k = split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            m -= k
            lo += k
            whole = False
    if not whole:
        ranges.append((lo, hi))
    return list(reversed(ranges))


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` show the leaf hash `leaf` at `index` in the tree `root`?"""
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


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does `proof` show the tree `first_root` of `first` leaves to be a prefix
    of the tree `second_root` of `second` leaves?"""
    if first == second:
        return not proof and first_root == second_root
    if first == 0 or first > second or not proof:
        return first == 0 and not proof and first <= second
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


def root_of(leaf_hashes: list[bytes]) -> bytes:
    """MTH(D[n]) straight from the RFC's definition (for tests and small trees)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = split(len(leaf_hashes))
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


class Frontier:
    """The right edge of a growing tree: for each bit of its size, the complete subtree awaiting a
    sibling. Appending a leaf yields the nodes it completes, (level, index, hash), level 0 first,
    so a checkpoint writes each stored node once, streaming, in O(log n) memory."""

    def __init__(self, size: int = 0, edge: dict[int, bytes] | None = None):
        self.size = size
        self.edge = dict(edge or {})  # level -> hash of the pending complete subtree at that level

    @staticmethod
    def edge_nodes(size: int) -> list[tuple[int, int]]:
        """The stored nodes a frontier of `size` leaves starts from."""
        return [(level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1]

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        index, level, current = self.size, 0, leaf
        made = [(0, index, leaf)]
        while index & 1:
            current = node_hash(self.edge.pop(level), current)
            index >>= 1
            level += 1
            made.append((level, index, current))
        self.edge[level] = current
        self.size += 1
        return made

    def root(self) -> bytes:
        if not self.size:
            return EMPTY_ROOT
        levels = sorted(self.edge)
        result = self.edge[levels[0]]
        for level in levels[1:]:
            result = node_hash(self.edge[level], result)
        return result
