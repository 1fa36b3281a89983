"""The reference verifier: protocol.md 9, step by step, in plain Python.

Order of the checks. A receipt can fail several checks at once (a changed byte in a root
changes every later challenge), so the *name* reported depends on the order; this order
is part of the specification and the native verifier follows it:

1. ``format``: the proof is decoded strictly (protocol.md 10);
2. ``statement``: program hash, input and output counts, trace width, trace length;
   then ``policy``: the conjectured security of the receipt's profile at its T for this
   program's constraint count (:func:`zkactors.profiles.security_bits`) must reach the
   caller's ``min_security_bits``: the prover chose the profile and T, the caller decides
   whether the result is enough;
3. the transcript is replayed; ``grinding`` is checked where the nonce is absorbed;
4. ``ood``: the constraints at z, combined, equal ``C_0(z) + z^T·C_1(z)``;
5. ``format``: the number of opened positions is |P| and each FRI layer opens exactly
   the leaves the positions select (the receipt's counts, checked against the replay);
6. every Merkle opening: ``trace_merkle``, ``composition_merkle``, then ``fri_merkle``
   per layer, so a changed opened value is reported by its commitment's check;
7. ``deep``: for each position (ascending), DEEP(x_i) from the opened rows equals the
   layer-0 value at index i (only when L ≥ 1);
8. per FRI layer l (ascending), per opened leaf (ascending): the folded value equals the
   opened value of layer l+1 (``fri_fold``) or, for the last layer, the remainder
   polynomial at its point (``fri_remainder``). With L = 0 there is nothing to fold and
   DEEP(x_i) itself is compared with the remainder at x_i (``fri_remainder``).
"""

from __future__ import annotations

from collections.abc import Sequence

from zkactors import profiles
from zkactors.errors import ReceiptFormatError, VerificationError
from zkactors.zkvm.program import Program
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.reference import fri, merkle
from zkactors.zkvm.reference.air import Air
from zkactors.zkvm.reference.field import GENERATOR, Ext, P, root_of_unity
from zkactors.zkvm.reference.proof import Proof, ProofFormatError, decode
from zkactors.zkvm.reference.transcript import Transcript, statement_bytes

MIN_LOG_TRACE_LENGTH = 3
MAX_LOG_TRACE_LENGTH = 26


def _reject(check: str, message: str) -> VerificationError:
    return VerificationError(f"receipt rejected ({check}): {message}", check=check)


def verify(
    receipt: Receipt | bytes,
    program: Program,
    *,
    min_security_bits: float = profiles.DEFAULT_MIN_SECURITY_BITS,
) -> None:
    """Check that ``receipt`` proves that ``program`` maps the receipt's inputs to its
    outputs, with at least ``min_security_bits`` conjectured bits of security. Returns
    None on success.

    :raises VerificationError: naming the first failed check (``check`` is one of the
        names of protocol.md 9.5) if the receipt does not prove its statement, or
        ``policy`` if it does not reach ``min_security_bits``.
    :raises ValueError: if ``min_security_bits`` is negative or not finite.
    """
    min_security_bits = profiles.check_min_security_bits(min_security_bits)
    if not isinstance(receipt, Receipt):
        try:
            receipt = Receipt.from_bytes(receipt)
        except ReceiptFormatError as exc:
            raise _reject("format", str(exc)) from None
    profile = profiles.get(receipt.profile)
    trace_length = receipt.trace_length
    log_t = trace_length.bit_length() - 1
    lde_size = profile.blowup * trace_length
    f = profile.folding_factor
    layers, remainder_size = fri.shape(trace_length, f, profile.max_remainder_size)

    # 1. Decode.
    try:
        proof = decode(
            receipt.proof,
            width=receipt.trace_width,
            log_trace_length=log_t,
            log_blowup=profile.log_blowup,
            queries=profile.queries,
            folding_factor=f,
            layers=layers,
            remainder_size=remainder_size,
        )
    except ProofFormatError as exc:
        raise _reject("format", str(exc)) from None

    # 2. The statement must be about this program.
    air = Air(program)
    _check_statement(receipt, program, air, log_t)
    bits = profile.conjectured_security_bits(trace_length, air.n_constraints)
    if not bits >= min_security_bits:
        raise _reject(
            "policy",
            f"the receipt's security is {bits:.1f} conjectured bits (profile {profile.name}, "
            f"T = 2^{log_t}, {air.n_constraints} constraints), below the required "
            f"{min_security_bits:.1f}",
        )

    # 3. Replay the transcript.
    transcript = Transcript()
    transcript.absorb(
        statement_bytes(
            profile.id,
            profile.log_blowup,
            profile.queries,
            profile.grinding_bits,
            profile.log_folding_factor,
            profile.max_remainder_size,
            program.digest,
            receipt.inputs,
            receipt.outputs,
            log_t,
        )
    )
    transcript.absorb(proof.trace_root)
    alphas = [transcript.draw_ext() for _ in range(air.n_constraints)]
    transcript.absorb(proof.composition_root)
    z = transcript.draw_ext()
    while z.in_base_field():  # z ∉ F keeps z and z·ω off H and D, where the divisors vanish
        z = transcript.draw_ext()
    ood_values = proof.ood_current + proof.ood_next + proof.ood_composition
    transcript.absorb(b"".join(value.to_bytes() for value in ood_values))
    deep_a = [transcript.draw_ext() for _ in range(air.width)]
    deep_b = [transcript.draw_ext() for _ in range(air.width)]
    deep_c = [transcript.draw_ext() for _ in range(2)]
    betas = []
    for root in proof.fri_roots:
        transcript.absorb(root)
        betas.append(transcript.draw_ext())
    transcript.absorb(
        remainder_size.to_bytes(2, "little")
        + b"".join(coefficient.to_bytes() for coefficient in proof.remainder)
    )
    if not transcript.grinding_ok(proof.nonce, profile.grinding_bits):
        raise _reject(
            "grinding",
            f"nonce {proof.nonce} is not a {profile.grinding_bits}-bit proof of work",
        )
    transcript.absorb(proof.nonce.to_bytes(8, "little"))
    positions = sorted({transcript.draw_index(lde_size) for _ in range(profile.queries)})

    # 4. Out-of-domain consistency of the composition polynomial.
    _check_ood(air, receipt, proof, alphas, z, trace_length)

    # 5. The receipt opens exactly the positions (and FRI leaves) the transcript selects.
    if len(proof.trace.rows) != len(positions):
        raise _reject(
            "format",
            f"the receipt opens {len(proof.trace.rows)} positions, the transcript "
            f"selects {len(positions)}",
        )
    layer_leaves = []  # per layer: the opened leaf indices, ascending
    layer_size = lde_size
    for layer in range(layers):
        indices = sorted({i % (layer_size // f) for i in positions})
        if len(proof.fri_layers[layer].leaves) != len(indices):
            raise _reject(
                "format",
                f"FRI layer {layer} opens {len(proof.fri_layers[layer].leaves)} leaves, "
                f"the positions select {len(indices)}",
            )
        layer_leaves.append(indices)
        layer_size //= f

    # 6. Merkle openings.
    trace_leaves = {
        i: b"".join(v.to_bytes(8, "little") for v in row)
        for i, row in zip(positions, proof.trace.rows, strict=True)
    }
    if not merkle.verify_multiproof(proof.trace_root, lde_size, trace_leaves, proof.trace.proof):
        raise _reject("trace_merkle", "the opened trace rows are not the committed ones")
    composition_leaves = {
        i: b"".join(value.to_bytes() for value in row)
        for i, row in zip(positions, proof.composition.leaves, strict=True)
    }
    if not merkle.verify_multiproof(
        proof.composition_root, lde_size, composition_leaves, proof.composition.proof
    ):
        raise _reject(
            "composition_merkle", "the opened composition rows are not the committed ones"
        )
    opened: list[dict[int, list[Ext]]] = []  # per layer: leaf index -> its f values
    layer_size = lde_size
    for layer in range(layers):
        leaves = dict(zip(layer_leaves[layer], proof.fri_layers[layer].leaves, strict=True))
        encoded = {i: b"".join(v.to_bytes() for v in values) for i, values in leaves.items()}
        if not merkle.verify_multiproof(
            proof.fri_roots[layer], layer_size // f, encoded, proof.fri_layers[layer].proof
        ):
            raise _reject("fri_merkle", f"the opened leaves of FRI layer {layer} are not committed")
        opened.append(leaves)
        layer_size //= f

    # 7. DEEP composition at each position against FRI layer 0.
    omega_lde = root_of_unity(lde_size)
    z_next = z * root_of_unity(trace_length)
    deep_values = []
    for i, trace_row, composition_row in zip(
        positions, proof.trace.rows, proof.composition.leaves, strict=True
    ):
        x = GENERATOR * pow(omega_lde, i, P) % P
        value = _deep(x, trace_row, composition_row, proof, z, z_next, deep_a, deep_b, deep_c)
        deep_values.append(value)
        if layers:
            quarter = lde_size // f
            if opened[0][i % quarter][i // quarter] != value:
                raise _reject("deep", f"DEEP(x) at position {i} differs from FRI layer 0")

    # 8. FRI folding down to the remainder.
    if not layers:
        for i, value in zip(positions, deep_values, strict=True):
            x = GENERATOR * pow(omega_lde, i, P) % P
            if fri.evaluate(proof.remainder, x) != value:
                raise _reject(
                    "fri_remainder", f"DEEP(x) at position {i} is not the remainder polynomial"
                )
        return
    layer_size = lde_size
    for layer in range(layers):
        next_size = layer_size // f
        for i, values in sorted(opened[layer].items()):
            x = fri.layer_point(layer, layer_size, i, f)
            folded = fri.fold(values, betas[layer], x)
            if layer + 1 < layers:
                stride = next_size // f
                if opened[layer + 1][i % stride][i // stride] != folded:
                    raise _reject(
                        "fri_fold",
                        f"folding layer {layer} at leaf {i} disagrees with layer {layer + 1}",
                    )
            elif fri.evaluate(proof.remainder, fri.layer_point(layers, next_size, i, f)) != folded:
                raise _reject(
                    "fri_remainder",
                    f"the last FRI layer at index {i} is not the remainder polynomial",
                )
        layer_size = next_size


def _check_statement(receipt: Receipt, program: Program, air: Air, log_t: int) -> None:
    if receipt.program_hash != program.hash:
        raise _reject(
            "statement",
            f"the receipt is for program {receipt.program_hash[:16]}…, not {program.hash[:16]}…",
        )
    if len(receipt.inputs) != program.n_inputs:
        raise _reject(
            "statement", f"{len(receipt.inputs)} inputs, the program takes {program.n_inputs}"
        )
    if len(receipt.outputs) != len(program.output_registers):
        raise _reject(
            "statement",
            f"{len(receipt.outputs)} outputs, the program has {len(program.output_registers)}",
        )
    if any(not 0 <= v < P for v in receipt.inputs + receipt.outputs):
        raise _reject("statement", "an input or output is not a field element")
    if receipt.trace_width != air.width:
        raise _reject(
            "statement", f"trace width {receipt.trace_width}, the program's is {air.width}"
        )
    if not MIN_LOG_TRACE_LENGTH <= log_t <= MAX_LOG_TRACE_LENGTH:
        raise _reject("statement", f"trace length 2^{log_t} is out of range")


def _check_ood(
    air: Air, receipt: Receipt, proof: Proof, alphas: Sequence[Ext], z: Ext, trace_length: int
) -> None:
    """Protocol.md 9.2: evaluate C(z) from the trace values at z and z·ω.

    A transition constraint must vanish on rows 0..T−2, i.e. be divisible by
    ``(x^T − 1)/(x − ω^(T−1))``; a boundary constraint at row 0 (T−1) by ``x − 1``
    (``x − ω^(T−1)``). The prover committed to C = Σ α_k·c_k/divisor_k, which is a
    polynomial only if every constraint holds on the trace; at a random z the committed
    segments must reproduce the same value.
    """
    cur, nxt = proof.ood_current, proof.ood_next
    last_row = pow(root_of_unity(trace_length), trace_length - 1, P)
    z_t = z**trace_length
    transition = air.transition(cur, nxt)
    first = air.first_row(cur, receipt.inputs)
    last = air.last_row(cur, receipt.outputs)
    a_trans = alphas[: air.n_transition]
    a_first = alphas[air.n_transition : air.n_transition + air.n_first]
    a_last = alphas[air.n_transition + air.n_first :]
    combined = (
        _dot(a_trans, transition) * (z - last_row) / (z_t - 1)
        + _dot(a_first, first) / (z - 1)
        + _dot(a_last, last) / (z - last_row)
    )
    c0, c1 = proof.ood_composition
    if combined != c0 + z_t * c1:
        raise _reject("ood", "the constraints at the out-of-domain point disagree with C(z)")


def _deep(
    x: int,
    trace_row: Sequence[int],
    composition_row: Sequence[Ext],
    proof: Proof,
    z: Ext,
    z_next: Ext,
    deep_a: Sequence[Ext],
    deep_b: Sequence[Ext],
    deep_c: Sequence[Ext],
) -> Ext:
    """``DEEP(x)`` of protocol.md 8.4: each term is a quotient that is a polynomial only if
    the claimed value at z (or z·ω) is the committed polynomial's true value there."""
    at_z = Ext(0)
    at_z_next = Ext(0)
    for j, t_x in enumerate(trace_row):
        at_z = at_z + deep_a[j] * (t_x - proof.ood_current[j])
        at_z_next = at_z_next + deep_b[j] * (t_x - proof.ood_next[j])
    for i in range(2):
        at_z = at_z + deep_c[i] * (composition_row[i] - proof.ood_composition[i])
    return at_z / (x - z) + at_z_next / (x - z_next)


def _dot(coefficients: Sequence[Ext], values: Sequence[Ext]) -> Ext:
    total = Ext(0)
    for coefficient, value in zip(coefficients, values, strict=True):
        total = total + coefficient * value
    return total
