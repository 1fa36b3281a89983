"""Receipts that come back from somewhere the runtime does not trust (a receipt store,
a remote prover): how to decide that one answers the request it is offered for.

The request's profile is the runtime's own choice (its config or the caller's keyword),
and the receipt must name it, so the verifier's policy here is the minimum that profile's
honest receipts meet. That is no protection at all for an insecure profile: a ``test``
receipt for a false statement can be forged with about 2^16 hashes. For those, the
statement itself is checked by running the program, which costs a fraction of the proof
the runtime would otherwise make.
"""

from __future__ import annotations

from zkactors import profiles
from zkactors.errors import VerificationError, ZkActorsError
from zkactors.zkvm.execute import execute
from zkactors.zkvm.program import Program
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify


class UntrustedReceiptRejected(Exception):
    """The receipt does not answer the request (internal: callers count it and prove anew)."""


def check_returned_receipt(
    receipt: Receipt, program: Program, inputs: tuple[int, ...], profile: str
) -> int | None:
    """Check that ``receipt`` proves ``program`` on ``inputs`` under ``profile``.

    Returns the cycles of the run when the statement had to be checked by execution (an
    insecure profile), else ``None``.

    :raises UntrustedReceiptRejected: for another statement, an invalid proof, or (for an
        insecure profile) outputs the program does not produce.
    """
    if (receipt.program_hash, receipt.inputs, receipt.profile) != (program.hash, inputs, profile):
        raise UntrustedReceiptRejected("the receipt is for another statement")
    try:
        verify(receipt, program, min_security_bits=profiles.own_receipts_minimum(profile))
    except (VerificationError, TypeError, ValueError) as exc:
        raise UntrustedReceiptRejected(str(exc)) from None
    if not profiles.get(profile).insecure:
        return None
    try:
        run = execute(program, inputs, max_cycles=receipt.trace_length)
    except ZkActorsError as exc:
        raise UntrustedReceiptRejected(f"the statement does not hold: {exc}") from None
    if run.outputs != receipt.outputs:
        raise UntrustedReceiptRejected(
            f"the program outputs {run.outputs}, the receipt claims {receipt.outputs} "
            f"(a forged receipt of the insecure {profile!r} profile)"
        )
    return run.cycles
