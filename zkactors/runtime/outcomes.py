"""What the runtime tells a caller beyond the receipt: a request's :class:`ProofOutcome`
(``ZkRuntime.prove_detailed``) and a request's :class:`Estimate` before it is proved
(``ZkRuntime.estimate``).

A receipt states the trace length, not the cycles a run took, and says nothing about how
the runtime obtained it; services that bill, log or schedule by cost need both. The
runtime knows them anyway (the estimator executes every run, the supervisor times every
proof, the cache knows whether it answered), so it hands them over instead of making the
caller re-execute the program or read counters around each call.
"""

from __future__ import annotations

import attrs

from zkactors.runtime.replies import Provenance, Source
from zkactors.zkvm.receipt import Receipt


@attrs.frozen
class ProofOutcome:
    """One request's answer and how it was obtained.

    ``source``: ``"cache"`` (answered from the result cache: nothing was proved for this
    request), ``"store"`` (answered from the persistent receipt store, after verifying
    the stored receipt: nothing was proved for it either), ``"proved"`` (this request
    started the proof) or ``"coalesced"`` (it joined an identical proof already
    running). ``cycles`` and ``trace_length``: the run's exact cycle count and the
    trace's rows (known for cached receipts too). For ``proved`` and ``coalesced``:
    ``threads`` (intra-proof threads the proof got), ``estimated_seconds`` (the
    estimator's prediction for that thread count), ``prove_seconds`` (the measured wall
    time in the prover) and ``queued_seconds`` (how long the proof waited for a prover);
    None for ``cache`` and ``store``. ``latency_seconds``: from the call to the answer.
    ``air`` (a property): the AIR the receipt proves the run under (1: register AIR,
    receipt format 2; 2: machine AIR, format 3).
    """

    receipt: Receipt
    source: Source
    cycles: int
    trace_length: int
    latency_seconds: float
    threads: int | None = None
    estimated_seconds: float | None = None
    prove_seconds: float | None = None
    queued_seconds: float | None = None

    @property
    def outputs(self) -> tuple[int, ...]:
        return self.receipt.outputs

    @property
    def air(self) -> int:
        return self.receipt.air

    @property
    def cached(self) -> bool:
        """True if the result cache answered (no proof was made or waited for)."""
        return self.source == "cache"

    @property
    def estimate_error(self) -> float | None:
        """``|estimated - measured| / measured`` of the proof behind it (None for a hit)."""
        if self.estimated_seconds is None or not self.prove_seconds:
            return None
        return abs(self.estimated_seconds - self.prove_seconds) / self.prove_seconds

    @classmethod
    def of(cls, receipt: Receipt, provenance: Provenance, latency: float) -> ProofOutcome:
        proof = provenance.proof
        if provenance.source in ("cache", "store"):
            return cls(receipt, provenance.source, proof.cycles, proof.trace_length, latency)
        return cls(
            receipt,
            provenance.source,
            proof.cycles,
            proof.trace_length,
            latency,
            proof.threads,
            proof.estimated_seconds,
            proof.prove_seconds,
            proof.queued_seconds,
        )


@attrs.frozen
class Estimate:
    """What proving a request would cost now, from the runtime's calibrated cost model,
    without proving it (``ZkRuntime.estimate``).

    ``cycles``, ``trace_length``, ``trace_width``, ``constraints``: the run (executed
    natively, so exact) and its trace under ``air``, the AIR the prover will use (1:
    register AIR; 2: machine AIR, whose trace is 56 columns wide with 47 constraints).
    ``threads``: the intra-proof threads the supervisor would give it if it arrived now;
    ``seconds``: predicted proving time with that many; ``single_thread_seconds``: with
    one. ``peak_bytes``: the prover's peak memory (its own formula, exact).
    ``queue_seconds``: estimated wait before it would start, given the proofs queued and
    running now. ``profile``: the security profile.
    """

    cycles: int
    trace_length: int
    trace_width: int
    constraints: int
    profile: str
    seconds: float
    single_thread_seconds: float
    threads: int
    peak_bytes: int
    queue_seconds: float
    air: int = 1

    @property
    def completion_seconds(self) -> float:
        """Estimated seconds from now until a request submitted now would be answered."""
        return self.queue_seconds + self.seconds


__all__ = ["Estimate", "ProofOutcome"]
