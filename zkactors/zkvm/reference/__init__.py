"""A compact pure-Python verifier: the readable specification of the zkactors STARK.

It is written from ``docs/protocol.md`` alone and shares no code with the native prover
and verifier (``ext/``), so the two verifiers can be held to the same verdicts. It is
slow by design (Python ints), but a default-profile receipt of a few thousand rows checks
in well under a second, since a verifier's work grows only with the number of queries and
the logarithm of the trace length.

Read it in this order: ``field`` (F and K), ``transcript`` (Fiat–Shamir), ``merkle``
(commitments), ``air`` (the constraints), ``fri`` (the low-degree test), ``proof`` (the
receipt layout), ``verifier`` (the protocol).
"""

from __future__ import annotations

from zkactors.zkvm.reference.verifier import verify

__all__ = ["verify"]
