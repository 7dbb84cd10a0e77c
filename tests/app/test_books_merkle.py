"""The Merkle tree of app/books against RFC 6962's reference vectors (the leaves and heads of
Certificate Transparency's tests, as transparency-dev/merkle publishes them in testonly/), and
every proof of the stored-subtree construction against a straight recomputation."""
import random

from app.books import merkle

LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f")]
ROOTS = ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
INCLUSION = {(0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
             (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]}
CONSISTENCY = {(2, 8): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
               (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
               (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]}


class StoredTree:
    """A tree kept as the complete subtrees a checkpoint writes (Frontier), proofs folded from them."""

    def __init__(self, leaves):
        self.nodes, frontier = {}, merkle.Frontier()
        for leaf in leaves:
            for level, index, digest in frontier.append(merkle.leaf_hash(leaf)):
                assert (level, index) not in self.nodes  # each node written once
                self.nodes[(level, index)] = digest
        self.frontier = frontier

    def mth(self, lo, hi):
        return merkle.fold([self.nodes[p] for p in merkle.range_nodes(lo, hi)])

    def inclusion(self, index, size):
        return [self.mth(lo, hi) for lo, hi in merkle.inclusion_ranges(index, size)]

    def consistency(self, first, second):
        return [self.mth(lo, hi) for lo, hi in merkle.consistency_ranges(first, second)]


def test_roots_match_the_reference_heads():
    assert merkle.EMPTY_ROOT.hex() == ROOTS[0]
    hashes = [merkle.leaf_hash(leaf) for leaf in LEAVES]
    for size in range(1, 9):
        assert merkle.root_of(hashes[:size]).hex() == ROOTS[size]
        tree = StoredTree(LEAVES[:size])
        assert tree.frontier.root().hex() == ROOTS[size]
        assert tree.mth(0, size).hex() == ROOTS[size]


def test_proofs_match_the_reference_vectors():
    tree = StoredTree(LEAVES)
    for (index, size), proof in INCLUSION.items():
        assert [h.hex() for h in tree.inclusion(index, size)] == proof
        assert merkle.verify_inclusion(index, size, merkle.leaf_hash(LEAVES[index]),
                                       [bytes.fromhex(h) for h in proof], bytes.fromhex(ROOTS[size]))
    for (first, second), proof in CONSISTENCY.items():
        assert [h.hex() for h in tree.consistency(first, second)] == proof
        assert merkle.verify_consistency(first, second, bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second]),
                                         [bytes.fromhex(h) for h in proof])


def test_every_proof_of_every_size_verifies_and_a_wrong_one_does_not():
    leaves = [bytes([i, i * 7 % 256]) for i in range(70)]
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    tree = StoredTree(leaves)
    roots = [merkle.root_of(hashes[:n]) for n in range(len(leaves) + 1)]
    for size in range(1, len(leaves) + 1):
        assert tree.mth(0, size) == roots[size]
        for index in range(size):
            proof = tree.inclusion(index, size)
            assert merkle.verify_inclusion(index, size, hashes[index], proof, roots[size])
            assert not merkle.verify_inclusion(index, size, merkle.leaf_hash(b"forged"), proof, roots[size])
            if size > 1:
                assert not merkle.verify_inclusion((index + 1) % size, size, hashes[index], proof, roots[size])
        for first in range(1, size + 1):
            proof = tree.consistency(first, size)
            assert merkle.verify_consistency(first, size, roots[first], roots[size], proof)
            if first < size:
                forged = merkle.root_of(hashes[:first - 1] + [merkle.leaf_hash(b"forged")])
                assert not merkle.verify_consistency(first, size, forged, roots[size], proof)
                assert not merkle.verify_consistency(first, size, roots[first], roots[size], proof[:-1])


def test_a_proof_reads_few_stored_nodes_whatever_the_size():
    for size in (1000, 10**7, 2**40 + 12345):
        index = random.Random(size).randrange(size)
        needed = {p for lo, hi in merkle.inclusion_ranges(index, size) for p in merkle.range_nodes(lo, hi)}
        assert len(needed) <= 2 * size.bit_length()
        needed = {p for lo, hi in merkle.consistency_ranges(size // 3, size) for p in merkle.range_nodes(lo, hi)}
        assert len(needed) <= 2 * size.bit_length()
