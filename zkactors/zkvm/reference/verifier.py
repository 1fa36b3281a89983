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

from collections.abc import Callable, Sequence

from zkactors import profiles
from zkactors.errors import ReceiptFormatError, VerificationError
from zkactors.zkvm.program import Program
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.reference import air2, fri, merkle
from zkactors.zkvm.reference.air import Air
from zkactors.zkvm.reference.field import GENERATOR, Ext, P, root_of_unity
from zkactors.zkvm.reference.proof import (
    MachineProof,
    Opening,
    Proof,
    ProofFormatError,
    TraceOpening,
    decode,
    decode_machine,
)
from zkactors.zkvm.reference.transcript import (
    Transcript,
    statement_bytes,
    statement_bytes_air2,
)

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
    if receipt.air == 2:
        _verify_machine(receipt, program, min_security_bits)
        return
    profile, trace_length, log_t, lde_size, f, layers, remainder_size = _shape(receipt)

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

    # 2. The statement must be about this program, one AIR 1 can express.
    _check_air1_program(receipt, program)
    air = Air(program)
    _check_statement(receipt, program, air, log_t)
    bits = profile.conjectured_security_bits(trace_length, air.n_constraints)
    _check_policy(bits, min_security_bits, profile, log_t, f"{air.n_constraints} constraints")

    # 3. Replay the transcript.
    transcript = _start_transcript(statement_bytes, profile, program, receipt, log_t)
    transcript.absorb(proof.trace_root)
    alphas = [transcript.draw_ext() for _ in range(air.n_constraints)]
    transcript.absorb(proof.composition_root)
    z = _draw_z(transcript)
    ood_values = proof.ood_current + proof.ood_next + proof.ood_composition
    transcript.absorb(b"".join(value.to_bytes() for value in ood_values))
    deep_a = [transcript.draw_ext() for _ in range(air.width)]
    deep_b = [transcript.draw_ext() for _ in range(air.width)]
    deep_c = [transcript.draw_ext() for _ in range(2)]
    betas, positions = _fri_transcript(transcript, proof, profile, remainder_size, lde_size)

    # 4. Out-of-domain consistency of the composition polynomial.
    _check_ood(air, receipt, proof, alphas, z, trace_length)

    # 5. The receipt opens exactly the positions (and FRI leaves) the transcript selects.
    _check_position_count(proof.trace.rows, positions)
    layer_leaves = _layer_leaves(proof.fri_layers, positions, lde_size, f)

    # 6. Merkle openings.
    _check_base_rows("trace", proof.trace_root, proof.trace, positions, lde_size)
    _check_ext_rows(
        "composition_merkle",
        "composition",
        proof.composition_root,
        proof.composition,
        positions,
        lde_size,
    )
    opened = _open_fri_layers(proof.fri_layers, proof.fri_roots, layer_leaves, lde_size, f)

    # 7. DEEP composition at each position against FRI layer 0.
    omega_lde = root_of_unity(lde_size)
    z_next = z * root_of_unity(trace_length)
    deep_values = []
    for i, trace_row, composition_row in zip(
        positions, proof.trace.rows, proof.composition.leaves, strict=True
    ):
        x = GENERATOR * pow(omega_lde, i, P) % P
        deep_values.append(
            _deep(
                x,
                z,
                z_next,
                ((trace_row, proof.ood_current, proof.ood_next, deep_a, deep_b),),
                (composition_row, proof.ood_composition, deep_c),
            )
        )

    # 8. FRI folding down to the remainder.
    _check_fri(positions, deep_values, opened, betas, proof.remainder, lde_size, f)


def _shape(receipt: Receipt) -> tuple[profiles.Profile, int, int, int, int, int, int]:
    """What the receipt's profile and T fix, under either AIR: (profile, T, log2 T, the LDE
    size, the folding factor, the FRI layer count, the remainder size)."""
    profile = profiles.get(receipt.profile)
    trace_length = receipt.trace_length
    log_t = trace_length.bit_length() - 1
    lde_size = profile.blowup * trace_length
    f = profile.folding_factor
    layers, remainder_size = fri.shape(trace_length, f, profile.max_remainder_size)
    return profile, trace_length, log_t, lde_size, f, layers, remainder_size


def _check_policy(
    bits: float, min_security_bits: float, profile: profiles.Profile, log_t: int, what: str
) -> None:
    """``policy``: the receipt's conjectured security reaches the caller's minimum."""
    if not bits >= min_security_bits:
        raise _reject(
            "policy",
            f"the receipt's security is {bits:.1f} conjectured bits (profile {profile.name}, "
            f"T = 2^{log_t}, {what}), below the required {min_security_bits:.1f}",
        )


def _start_transcript(
    statement: Callable[
        [int, int, int, int, int, int, bytes, tuple[int, ...], tuple[int, ...], int], bytes
    ],
    profile: profiles.Profile,
    program: Program,
    receipt: Receipt,
    log_t: int,
) -> Transcript:
    """A transcript that has absorbed the statement (``statement`` is
    :func:`statement_bytes` or :func:`statement_bytes_air2`)."""
    transcript = Transcript()
    transcript.absorb(
        statement(
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
    return transcript


def _draw_z(transcript: Transcript) -> Ext:
    """The out-of-domain point: z ∉ F keeps z and z·ω off H and D, where the divisors
    vanish."""
    z = transcript.draw_ext()
    while z.in_base_field():
        z = transcript.draw_ext()
    return z


def _layer_leaves(
    fri_layers: Sequence[Opening], positions: Sequence[int], lde_size: int, f: int
) -> list[list[int]]:
    """Per FRI layer, the leaf indices the positions select (ascending); the receipt must
    open exactly as many (else ``format``)."""
    layer_leaves = []
    layer_size = lde_size
    for layer, opening in enumerate(fri_layers):
        indices = sorted({i % (layer_size // f) for i in positions})
        if len(opening.leaves) != len(indices):
            raise _reject(
                "format",
                f"FRI layer {layer} opens {len(opening.leaves)} leaves, "
                f"the positions select {len(indices)}",
            )
        layer_leaves.append(indices)
        layer_size //= f
    return layer_leaves


def _open_fri_layers(
    fri_layers: Sequence[Opening],
    fri_roots: Sequence[bytes],
    layer_leaves: Sequence[Sequence[int]],
    lde_size: int,
    f: int,
) -> list[dict[int, list[Ext]]]:
    """Check each layer's multiproof (``fri_merkle``); per layer, leaf index -> its f
    values."""
    opened: list[dict[int, list[Ext]]] = []
    layer_size = lde_size
    for layer, opening in enumerate(fri_layers):
        leaves = dict(zip(layer_leaves[layer], opening.leaves, strict=True))
        encoded = {i: b"".join(v.to_bytes() for v in values) for i, values in leaves.items()}
        if not merkle.verify_multiproof(fri_roots[layer], layer_size // f, encoded, opening.proof):
            raise _reject("fri_merkle", f"the opened leaves of FRI layer {layer} are not committed")
        opened.append(leaves)
        layer_size //= f
    return opened


def _check_fri(
    positions: Sequence[int],
    deep_values: Sequence[Ext],
    opened: Sequence[dict[int, list[Ext]]],
    betas: Sequence[Ext],
    remainder: Sequence[Ext],
    lde_size: int,
    f: int,
) -> None:
    """Protocol.md 9.4: DEEP(x_i) against layer 0 (``deep``), then every fold
    (``fri_fold``) down to the remainder (``fri_remainder``)."""
    layers = len(opened)
    omega_lde = root_of_unity(lde_size)
    if not layers:
        for i, value in zip(positions, deep_values, strict=True):
            x = GENERATOR * pow(omega_lde, i, P) % P
            if fri.evaluate(remainder, x) != value:
                raise _reject(
                    "fri_remainder", f"DEEP(x) at position {i} is not the remainder polynomial"
                )
        return
    quarter = lde_size // f
    for i, value in zip(positions, deep_values, strict=True):
        if opened[0][i % quarter][i // quarter] != value:
            raise _reject("deep", f"DEEP(x) at position {i} differs from FRI layer 0")
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
            elif fri.evaluate(remainder, fri.layer_point(layers, next_size, i, f)) != folded:
                raise _reject(
                    "fri_remainder",
                    f"the last FRI layer at index {i} is not the remainder polynomial",
                )
        layer_size = next_size


def _check_program_hash(receipt: Receipt, program: Program) -> None:
    if receipt.program_hash != program.hash:
        raise _reject(
            "statement",
            f"the receipt is for program {receipt.program_hash[:16]}…, not {program.hash[:16]}…",
        )


def _check_air1_program(receipt: Receipt, program: Program) -> None:
    """A format-2 receipt claims AIR 1, which expresses only programs of format 1
    (protocol.md 17): any other fails ``statement``, after the program hash."""
    _check_program_hash(receipt, program)
    if not program.fits_register_air:
        raise _reject(
            "statement",
            "a format-2 receipt proves the register AIR, which cannot express this program "
            "(program format 2); it needs a format-3 (AIR 2) receipt",
        )


def _check_statement(receipt: Receipt, program: Program, air: Air, log_t: int) -> None:
    _check_program_hash(receipt, program)
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
    z: Ext,
    z_next: Ext,
    columns: Sequence[
        tuple[
            Sequence[int | Ext],
            Sequence[Ext],
            Sequence[Ext],
            Sequence[Ext],
            Sequence[Ext],
        ]
    ],
    composition: tuple[Sequence[Ext], Sequence[Ext], Sequence[Ext]],
) -> Ext:
    """``DEEP(x)`` of protocol.md 8.4, under either AIR: each term is a quotient that is a
    polynomial only if the claimed value at z (or z·ω) is the committed polynomial's true
    value there. ``columns`` holds, per committed trace (AIR 1: the trace; AIR 2: main, then
    auxiliary), its opened row, its values at z and z·ω and their DEEP coefficients;
    ``composition`` the opened segments, their values at z and coefficients."""
    at_z = Ext(0)
    at_z_next = Ext(0)
    for row, ood, ood_next, coefficients, coefficients_next in columns:
        for j, t_x in enumerate(row):
            at_z = at_z + coefficients[j] * (t_x - ood[j])
            at_z_next = at_z_next + coefficients_next[j] * (t_x - ood_next[j])
    segments, ood_segments, deep_c = composition
    for k, c_x in enumerate(segments):
        at_z = at_z + deep_c[k] * (c_x - ood_segments[k])
    return at_z / (x - z) + at_z_next / (x - z_next)


def _fri_transcript(
    transcript: Transcript,
    proof: Proof | MachineProof,
    profile: profiles.Profile,
    remainder_size: int,
    lde_size: int,
) -> tuple[list[Ext], list[int]]:
    """The transcript's FRI part, the same under both AIRs: a
    folding challenge per layer root, the remainder, the grinding check (``grinding``),
    then the query positions (ascending, without repeats)."""
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
    return betas, positions


def _check_position_count(rows: Sequence[object], positions: Sequence[int]) -> None:
    """The receipt opens as many rows as the transcript selects positions (``format``)."""
    if len(rows) != len(positions):
        raise _reject(
            "format",
            f"the receipt opens {len(rows)} positions, the transcript selects {len(positions)}",
        )


def _check_base_rows(
    what: str, root: bytes, opening: TraceOpening, positions: Sequence[int], lde_size: int
) -> None:
    """The opened rows of base-field columns (AIR 1's trace, AIR 2's main trace) are the
    committed ones (``trace_merkle``)."""
    leaves = {
        i: b"".join(v.to_bytes(8, "little") for v in row)
        for i, row in zip(positions, opening.rows, strict=True)
    }
    if not merkle.verify_multiproof(root, lde_size, leaves, opening.proof):
        raise _reject("trace_merkle", f"the opened {what} rows are not the committed ones")


def _check_ext_rows(
    check: str,
    what: str,
    root: bytes,
    opening: Opening,
    positions: Sequence[int],
    lde_size: int,
) -> None:
    """The opened rows of K-valued columns (composition segments, AIR 2's auxiliary trace)
    are the committed ones (``check``)."""
    leaves = {
        i: b"".join(value.to_bytes() for value in row)
        for i, row in zip(positions, opening.leaves, strict=True)
    }
    if not merkle.verify_multiproof(root, lde_size, leaves, opening.proof):
        raise _reject(check, f"the opened {what} rows are not the committed ones")


def _dot(coefficients: Sequence[Ext], values: Sequence[Ext]) -> Ext:
    total = Ext(0)
    for coefficient, value in zip(coefficients, values, strict=True):
        total = total + coefficient * value
    return total


# ---------------------------------------------------------------- AIR 2 (format 3)


def _verify_machine(receipt: Receipt, program: Program, min_security_bits: float) -> None:
    """Protocol.md 17: a format-3 receipt, verified under AIR 2; the checks in the order
    of Part I, with ``aux_merkle`` after ``trace_merkle``."""
    profile, trace_length, log_t, lde_size, f, layers, remainder_size = _shape(receipt)
    try:
        proof = decode_machine(
            receipt.proof,
            width=air2.WIDTH,
            aux_width=air2.AUX_WIDTH,
            segments=air2.SEGMENTS,
            log_trace_length=log_t,
            log_blowup=profile.log_blowup,
            queries=profile.queries,
            folding_factor=f,
            layers=layers,
            remainder_size=remainder_size,
        )
    except ProofFormatError as exc:
        raise _reject("format", str(exc)) from None

    st = _check_machine_statement(receipt, program, log_t)
    bits = profile.conjectured_security_bits(trace_length, air2.N_CONSTRAINTS, air=2)
    _check_policy(bits, min_security_bits, profile, log_t, "AIR 2")

    # The transcript of protocol.md 15.
    transcript = _start_transcript(statement_bytes_air2, profile, program, receipt, log_t)
    transcript.absorb(proof.main_root)
    alpha = transcript.draw_ext()
    beta = transcript.draw_ext()
    transcript.absorb(proof.aux_root)
    alphas = [transcript.draw_ext() for _ in range(air2.N_CONSTRAINTS)]
    transcript.absorb(proof.composition_root)
    z = _draw_z(transcript)
    ood_values = (
        proof.ood_main
        + proof.ood_main_next
        + proof.ood_aux
        + proof.ood_aux_next
        + proof.ood_composition
    )
    transcript.absorb(b"".join(value.to_bytes() for value in ood_values))
    deep_a = [transcript.draw_ext() for _ in range(air2.WIDTH)]
    deep_b = [transcript.draw_ext() for _ in range(air2.WIDTH)]
    deep_aux_a = [transcript.draw_ext() for _ in range(air2.AUX_WIDTH)]
    deep_aux_b = [transcript.draw_ext() for _ in range(air2.AUX_WIDTH)]
    deep_c = [transcript.draw_ext() for _ in range(air2.SEGMENTS)]
    betas, positions = _fri_transcript(transcript, proof, profile, remainder_size, lde_size)

    # ood: every constraint at z, with the fixed columns at z and V.
    ch = air2.Challenges.of(alpha, beta)
    try:
        combined = air2.composition_at(
            st,
            ch,
            proof.ood_main,
            proof.ood_main_next,
            proof.ood_aux,
            proof.ood_aux_next,
            alphas,
            z,
        )
    except ZeroDivisionError:  # α is one of V's tuples (probability about 3T/|K|)
        raise _reject("ood", "α equals the tuple of one of the verifier's own fractions") from None
    z_t = z**trace_length
    c0, c1, c2 = proof.ood_composition
    if combined != c0 + z_t * c1 + z_t * z_t * c2:
        raise _reject("ood", "the constraints at the out-of-domain point disagree with C(z)")

    # The counts, then the Merkle openings.
    _check_position_count(proof.main.rows, positions)
    layer_leaves = _layer_leaves(proof.fri_layers, positions, lde_size, f)
    _check_base_rows("main", proof.main_root, proof.main, positions, lde_size)
    for name, what, root, opening in (
        ("aux_merkle", "auxiliary", proof.aux_root, proof.aux),
        ("composition_merkle", "composition", proof.composition_root, proof.composition),
    ):
        _check_ext_rows(name, what, root, opening, positions, lde_size)
    opened = _open_fri_layers(proof.fri_layers, proof.fri_roots, layer_leaves, lde_size, f)

    # deep, then FRI.
    omega_lde = root_of_unity(lde_size)
    z_next = z * root_of_unity(trace_length)
    deep_values = []
    for index, (i, main_row) in enumerate(zip(positions, proof.main.rows, strict=True)):
        x = GENERATOR * pow(omega_lde, i, P) % P
        deep_values.append(
            _deep(
                x,
                z,
                z_next,
                (
                    (main_row, proof.ood_main, proof.ood_main_next, deep_a, deep_b),
                    (
                        proof.aux.leaves[index],
                        proof.ood_aux,
                        proof.ood_aux_next,
                        deep_aux_a,
                        deep_aux_b,
                    ),
                ),
                (proof.composition.leaves[index], proof.ood_composition, deep_c),
            )
        )
    _check_fri(positions, deep_values, opened, betas, proof.remainder, lde_size, f)


def _check_machine_statement(receipt: Receipt, program: Program, log_t: int) -> air2.Statement:
    """The statement checks of protocol.md 17, in its order."""
    _check_program_hash(receipt, program)
    n_in, n_out = program.n_inputs, len(program.output_registers)
    if len(receipt.inputs) < n_in:
        raise _reject("statement", f"{len(receipt.inputs)} inputs, the program takes {n_in}")
    if len(receipt.outputs) < n_out:
        raise _reject("statement", f"{len(receipt.outputs)} outputs, the program has {n_out}")
    if any(not 0 <= v < P for v in receipt.inputs + receipt.outputs):
        raise _reject("statement", "an input or output is not a field element")
    st = air2.Statement(program, receipt.inputs, receipt.outputs, 1 << log_t)
    if not st.outputs_agree():
        raise _reject("statement", "two outputs name one register with different values")
    if not (air2.min_trace_length(program) <= st.trace_length and log_t <= MAX_LOG_TRACE_LENGTH):
        raise _reject(
            "statement",
            f"trace length 2^{log_t} is out of range (at least "
            f"{air2.min_trace_length(program)} for this program, at most 2^{MAX_LOG_TRACE_LENGTH})",
        )
    if len(st.stream_inputs) >= st.trace_length or len(st.stream_outputs) >= st.trace_length:
        raise _reject("statement", "more stream inputs or outputs than the trace has rows")
    return st
