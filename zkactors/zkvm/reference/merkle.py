"""Merkle commitments and batched openings (protocol.md 3).

A Merkle root binds the prover to a whole table (the LDE rows, the composition rows, a
FRI layer) with 32 bytes; afterwards it can reveal any rows with a proof that they are the
committed ones. Nodes are numbered as in a binary heap: the root is 1, node ``k`` has
children ``2k`` and ``2k+1``, and leaf ``i`` of ``n`` is node ``n + i``. The one-byte
prefixes (0x00 for leaves, 0x01 for inner nodes) make a leaf's hash never equal an inner
node's, so a prover cannot present an inner node as a leaf.

Opening several leaves at once shares the upper parts of their paths: walking up level
by level, a sibling is sent only if the verifier cannot compute it itself (it is not
already known), which for q queries saves most of the q·log n digests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

LEAF = b"\x00"
NODE = b"\x01"


def leaf_digest(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF + leaf).digest()


def node_digest(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE + left + right).digest()


def verify_multiproof(
    root: bytes, n_leaves: int, leaves: dict[int, bytes], proof: Sequence[bytes]
) -> bool:
    """Whether ``leaves`` (leaf index → leaf bytes) are leaves of the tree with ``root``
    over ``n_leaves`` leaves, given the sibling digests ``proof`` in the order of
    protocol.md 3. The proof must be consumed exactly: an unused digest is a malformed
    proof, not a harmless extra."""
    if not leaves or any(not 0 <= i < n_leaves for i in leaves):
        return False
    known = {n_leaves + i: leaf_digest(leaf) for i, leaf in leaves.items()}
    siblings = iter(proof)
    used = 0
    while set(known) != {1}:
        parents: dict[int, bytes] = {}
        for node in sorted(known):
            sibling = node ^ 1
            if sibling in known:
                sibling_digest = known[sibling]
            else:
                sibling_digest = next(siblings, b"")
                if not sibling_digest:
                    return False
                used += 1
            left, right = (
                (known[node], sibling_digest)
                if node % 2 == 0
                else (
                    sibling_digest,
                    known[node],
                )
            )
            parents[node >> 1] = node_digest(left, right)
        known = parents
    return used == len(proof) and known[1] == root
