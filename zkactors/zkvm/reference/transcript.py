"""The Fiat–Shamir transcript (protocol.md 7): the verifier's source of randomness.

An interactive STARK verifier would send random challenges; the non-interactive one
derives them by hashing everything the prover has committed to so far. The state ``s``
is a SHA-256 hash chain over every absorbed message, so a challenge depends on the whole
history, and the prover cannot choose a message after seeing the challenge it decides.
Each absorb resets the squeeze counter, so draws between two absorbs are independent
hashes of the same state.

The first message is the *statement* (protocol id and version, the profile, the program
hash, the public inputs and outputs, the trace length): a challenge that did not depend
on a public value would let a prover pick that value after the fact.
"""

from __future__ import annotations

import hashlib

from zkactors.zkvm.reference.field import Ext, P

ABSORB = b"\x02"
SQUEEZE = b"\x03"
GRINDING = b"\x04"
PROTOCOL_ID = b"zkactors-stark"
#: 2 since challenges are drawn from the cubic extension (1 drew them from a quadratic one).
PROTOCOL_VERSION = 2


class Transcript:
    """The verifier's replay of the prover's transcript."""

    def __init__(self) -> None:
        self.state = bytes(32)
        self.counter = 0

    def absorb(self, data: bytes) -> None:
        self.state = hashlib.sha256(ABSORB + self.state + data).digest()
        self.counter = 0

    def squeeze(self) -> bytes:
        out = hashlib.sha256(SQUEEZE + self.state + self.counter.to_bytes(8, "little")).digest()
        self.counter += 1
        return out

    def draw_base(self) -> int:
        """A uniform element of F: reject 64-bit values ≥ p (probability about 2^−32)
        rather than reduce them, which would bias small values."""
        while True:
            value = int.from_bytes(self.squeeze()[:8], "little")
            if value < P:
                return value

    def draw_ext(self) -> Ext:
        """An element of K: its coordinates c0, c1, c2 drawn in that order."""
        c0 = self.draw_base()
        c1 = self.draw_base()
        return Ext(c0, c1, self.draw_base())

    def draw_index(self, n: int) -> int:
        """A position in ``[0, n)``; ``n`` is a power of two, so ``mod n`` is unbiased."""
        return int.from_bytes(self.squeeze()[:8], "little") % n

    def grinding_ok(self, nonce: int, bits: int) -> bool:
        """Whether ``nonce`` is a proof of work for the current state: the low ``bits``
        bits of ``LE64(H(0x04 ‖ s ‖ LE64(nonce))[0:8])`` are zero. Each candidate costs the
        prover a hash, so the work needed multiplies the cost of every forgery attempt by
        about 2^bits."""
        digest = hashlib.sha256(GRINDING + self.state + nonce.to_bytes(8, "little")).digest()
        return int.from_bytes(digest[:8], "little") & ((1 << bits) - 1) == 0


def statement_bytes(
    profile_id: int,
    log_blowup: int,
    queries: int,
    grinding_bits: int,
    log_folding: int,
    max_remainder_size: int,
    program_digest: bytes,
    inputs: tuple[int, ...],
    outputs: tuple[int, ...],
    log_trace_length: int,
) -> bytes:
    """The first message of every transcript (protocol.md 7)."""
    return _statement_bytes(
        PROTOCOL_VERSION.to_bytes(2, "little"),
        2,
        profile_id,
        log_blowup,
        queries,
        grinding_bits,
        log_folding,
        max_remainder_size,
        program_digest,
        inputs,
        outputs,
        log_trace_length,
    )


#: The transcript version of AIR 2 proofs (format-3 receipts, protocol.md 15).
PROTOCOL_VERSION_AIR2 = 3
AIR2_ID = 2


def statement_bytes_air2(
    profile_id: int,
    log_blowup: int,
    queries: int,
    grinding_bits: int,
    log_folding: int,
    max_remainder_size: int,
    program_digest: bytes,
    inputs: tuple[int, ...],
    outputs: tuple[int, ...],
    log_trace_length: int,
) -> bytes:
    """The first message of an AIR 2 transcript (protocol.md 15): version 3, the air id,
    and 32-bit input and output counts."""
    return _statement_bytes(
        PROTOCOL_VERSION_AIR2.to_bytes(2, "little") + bytes([AIR2_ID]),
        4,
        profile_id,
        log_blowup,
        queries,
        grinding_bits,
        log_folding,
        max_remainder_size,
        program_digest,
        inputs,
        outputs,
        log_trace_length,
    )


def _statement_bytes(
    version: bytes,
    count_size: int,
    profile_id: int,
    log_blowup: int,
    queries: int,
    grinding_bits: int,
    log_folding: int,
    max_remainder_size: int,
    program_digest: bytes,
    inputs: tuple[int, ...],
    outputs: tuple[int, ...],
    log_trace_length: int,
) -> bytes:
    """The statement message of either AIR: ``version`` (the transcript version, and for
    AIR 2 the air id), the profile's parameters, the program, the inputs and outputs each
    after a count of ``count_size`` bytes, and log2 T."""
    return b"".join(
        (
            PROTOCOL_ID,
            version,
            bytes([profile_id, log_blowup]),
            queries.to_bytes(2, "little"),
            bytes([grinding_bits, log_folding]),
            max_remainder_size.to_bytes(2, "little"),
            program_digest,
            len(inputs).to_bytes(count_size, "little"),
            *(v.to_bytes(8, "little") for v in inputs),
            len(outputs).to_bytes(count_size, "little"),
            *(v.to_bytes(8, "little") for v in outputs),
            bytes([log_trace_length]),
        )
    )
