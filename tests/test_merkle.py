"""Merkle trees and batched openings against a Python oracle of protocol.md section 3.

The oracle is the specification written as directly as possible: leaf = H(0x00 ‖ LE64
elements), node = H(0x01 ‖ left ‖ right), and the multiproof walk over ``known``.
"""

from __future__ import annotations

import array
import hashlib
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkactors._native import primitives as prim

P = 2**64 - 2**32 + 1


def H(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def oracle_nodes(rows: list[list[int]]) -> list[bytes]:
    n = len(rows)
    nodes = [b""] * (2 * n)
    for i, row in enumerate(rows):
        nodes[n + i] = H(b"\x00" + b"".join(v.to_bytes(8, "little") for v in row))
    for k in range(n - 1, 0, -1):
        nodes[k] = H(b"\x01" + nodes[2 * k] + nodes[2 * k + 1])
    return nodes


def oracle_multiproof(nodes: list[bytes], n: int, indices: list[int]) -> list[bytes]:
    known = sorted(n + i for i in indices)
    proof = []
    while known != [1]:
        present = set(known)
        for v in known:
            if v ^ 1 not in present:
                proof.append(nodes[v ^ 1])
        known = sorted({v >> 1 for v in known})
    return proof


def random_rows(n: int, width: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    return [[rng.randrange(P) for _ in range(width)] for _ in range(n)]


def flat(rows: list[list[int]]) -> array.array[int]:
    return array.array("Q", [v for row in rows for v in row])


def columns(rows: list[list[int]], width: int) -> list[array.array[int]]:
    return [array.array("Q", [row[c] for row in rows]) for c in range(width)]


trees = st.tuples(st.integers(0, 7), st.integers(1, 6), st.integers(0, 2**32))


@given(trees, st.integers(1, 3))
def test_roots_match_the_oracle(shape: tuple[int, int, int], threads: int) -> None:
    log_n, width, seed = shape
    rows = random_rows(2**log_n, width, seed)
    nodes = oracle_nodes(rows)
    by_rows = prim.MerkleTree.from_rows(flat(rows), width, threads=threads)
    by_columns = prim.MerkleTree.from_columns(columns(rows, width), threads=threads)
    leaves = b"".join(nodes[2**log_n :])
    by_leaves = prim.MerkleTree.from_leaves(leaves, threads=threads)
    for tree in (by_rows, by_columns, by_leaves):
        assert tree.root == nodes[1]
        assert tree.n_leaves == 2**log_n
        assert tree.nodes()[32:] == b"".join(nodes[1:])
    assert prim.hash_rows(flat(rows), width, threads=threads) == leaves
    assert prim.hash_columns(columns(rows, width), threads=threads) == leaves


@pytest.mark.parametrize("threads", [1, 2, 3, 4])
def test_big_tree_threads_agree(threads: int) -> None:
    rows = random_rows(2**12, 3, 12)
    expected = oracle_nodes(rows)[1]
    assert prim.MerkleTree.from_rows(flat(rows), 3, threads=threads).root == expected
    assert prim.MerkleTree.from_columns(columns(rows, 3), threads=threads).root == expected


@given(trees, st.data())
def test_multiproofs_match_the_oracle_and_verify(
    shape: tuple[int, int, int], data: st.DataObject
) -> None:
    log_n, width, seed = shape
    n = 2**log_n
    rows = random_rows(n, width, seed)
    nodes = oracle_nodes(rows)
    tree = prim.MerkleTree.from_rows(flat(rows), width)
    indices = sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1)))
    proof = tree.multiproof(indices)
    assert proof == b"".join(oracle_multiproof(nodes, n, indices))
    leaves = b"".join(tree.leaf(i) for i in indices)
    assert prim.merkle_verify(tree.root, n, indices, leaves, proof)


def opening(log_n: int, indices: list[int]) -> tuple[prim.MerkleTree, bytes, bytes]:
    rows = random_rows(2**log_n, 2, log_n)
    tree = prim.MerkleTree.from_rows(flat(rows), 2)
    leaves = b"".join(tree.leaf(i) for i in indices)
    return tree, leaves, tree.multiproof(indices)


@pytest.mark.parametrize("indices", [[0], [5], [1, 2], [3, 9, 10, 31], list(range(0, 32, 3))])
def test_tampering_is_rejected(indices: list[int]) -> None:
    tree, leaves, proof = opening(5, indices)
    n, root = 32, tree.root
    assert prim.merkle_verify(root, n, indices, leaves, proof)
    # a changed leaf digest
    bad_leaves = bytes([leaves[0] ^ 1]) + leaves[1:]
    assert not prim.merkle_verify(root, n, indices, bad_leaves, proof)
    # another leaf's digest at an index
    other = next(i for i in range(n) if i not in indices)
    swapped = tree.leaf(other) + leaves[32:]
    assert not prim.merkle_verify(root, n, indices, swapped, proof)
    # a wrong index for the same leaf
    moved = [other, *indices[1:]]
    if moved == sorted(set(moved)):
        assert not prim.merkle_verify(root, n, moved, leaves, proof)
    # every byte of the proof matters
    for pos in range(0, len(proof), 7):
        corrupt = proof[:pos] + bytes([proof[pos] ^ 0x80]) + proof[pos + 1 :]
        assert not prim.merkle_verify(root, n, indices, leaves, corrupt)
    # short, long, and not whole digests
    if proof:
        assert not prim.merkle_verify(root, n, indices, leaves, proof[:-32])
    assert not prim.merkle_verify(root, n, indices, leaves, proof + proof[:32] + bytes(32))
    assert not prim.merkle_verify(root, n, indices, leaves, proof + bytes(1))
    # a different root, a wrong tree size
    assert not prim.merkle_verify(bytes(32), n, indices, leaves, proof)
    assert not prim.merkle_verify(root, 2 * n, indices, leaves, proof)
    assert not prim.merkle_verify(root, n, indices, leaves[:-32], proof)


def test_malformed_index_sets_are_rejected() -> None:
    tree, leaves, proof = opening(4, [2, 7])
    root = tree.root
    assert prim.merkle_verify(root, 16, [2, 7], leaves, proof)
    both_ways = leaves[32:] + leaves[:32]
    assert not prim.merkle_verify(root, 16, [7, 2], both_ways, proof)  # unsorted
    dup_leaves = leaves[:32] * 2 + leaves[32:]
    assert not prim.merkle_verify(root, 16, [2, 2, 7], dup_leaves, proof)  # duplicate
    assert not prim.merkle_verify(root, 16, [2, 16], leaves, proof)  # index >= n
    assert not prim.merkle_verify(root, 16, [-1, 7], leaves, proof)
    assert not prim.merkle_verify(root, 16, [], b"", proof)
    assert not prim.merkle_verify(root, 12, [2, 7], leaves, proof)  # not a power of two
    assert not prim.merkle_verify(root[:31], 16, [2, 7], leaves, proof)


def test_single_leaf_tree() -> None:
    rows = random_rows(1, 4, 1)
    tree = prim.MerkleTree.from_rows(flat(rows), 4)
    assert tree.root == oracle_nodes(rows)[1] == tree.leaf(0)
    assert tree.multiproof([0]) == b""
    assert prim.merkle_verify(tree.root, 1, [0], tree.leaf(0), b"")
    assert not prim.merkle_verify(tree.root, 1, [0], tree.leaf(0), bytes(32))


def test_opening_every_leaf_needs_no_siblings() -> None:
    tree, leaves, proof = opening(3, list(range(8)))
    assert proof == b""
    assert prim.merkle_verify(tree.root, 8, list(range(8)), leaves, proof)


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="power of two"):
        prim.MerkleTree.from_rows(array.array("Q", range(12)), 4)
    with pytest.raises(ValueError, match="canonical"):
        prim.MerkleTree.from_rows(array.array("Q", [P, 0]), 1)
    with pytest.raises(ValueError, match="rows of"):
        prim.hash_rows(array.array("Q", range(5)), 2)
    with pytest.raises(ValueError, match="multiple of 32"):
        prim.MerkleTree.from_leaves(bytes(33))
    tree = prim.MerkleTree.from_rows(array.array("Q", range(8)), 1)
    with pytest.raises(ValueError, match="ascending"):
        tree.multiproof([3, 1])
    with pytest.raises(ValueError, match="ascending"):
        tree.multiproof([8])
    with pytest.raises(ValueError, match="ascending"):
        tree.multiproof([])
    with pytest.raises(ValueError):
        tree.leaf(8)
