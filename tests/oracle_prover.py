"""ORACLE PROVER (test-only): protocol.md 8 in straightforward pure Python.

This is the byte-level oracle for the native prover: for the same program, inputs and
profile it must produce the identical receipt bytes. It is also the tests' forger: it
proves caller-supplied (wrong) traces and claimed outputs, and can cheat at one step of
the protocol (``cheat=``), so the verifiers' every check can be shown to bite.

It is written from the specification independently of the reference verifier
(``zkactors.zkvm.reference``) and shares no code with it: K elements are plain tuples,
FRI folds by splitting coefficients rather than by the verifier's coset formula. It is
meant for T <= 64 with the ``test`` profile; a default-profile proof of a tiny trace
takes about a second (mostly grinding).

Cheats (each aims at one verifier check when applied to an honest trace):

- ``"ood"``: send ``C_0(z)`` chosen so the out-of-domain check passes even though the
  committed composition is not the constraints' quotient (use with a forged trace; the
  DEEP polynomial is then not low-degree and FRI's remainder check fails);
- ``"deep"``: commit FRI layer 0 as DEEP + 1 (still low-degree): the ``deep`` check fails;
- ``"fold"``: commit FRI layer 1 as fold + 1 (needs L >= 2): the ``fri_fold`` check fails;
- ``"remainder"``: send the remainder with its constant coefficient + 1: ``fri_remainder``;
- ``"downgrade"``: a complete forgery that works whenever queries are few, the attack a
  verifier that lets the prover pick the profile invites. ``"ood"``'s lie, then FRI
  layer 0 committed as the polynomial of degree < T that agrees with DEEP on the coset
  of indices ``i = 0 mod B`` (a quarter of D under ``test``), so every fold and the
  remainder are honest; finally the grinding nonce is searched until every drawn query
  position falls in that coset (about ``B^q`` tries: 2^16 under ``test``). Every check
  passes; only the verifier's security policy can refuse it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import attrs

from zkactors import profiles
from zkactors.zkvm import interpreter
from zkactors.zkvm.isa import Op
from zkactors.zkvm.program import Program
from zkactors.zkvm.reference import air2
from zkactors.zkvm.reference.field import Ext

P = 2**64 - 2**32 + 1
G = 7  # generator of F*, and the LDE offset c
W = 7  # K = F[X]/(X^3 - W)
GAMMA = pow(W, (P - 1) // 3, P)  # X^p = GAMMA * X: the Frobenius map of K
EXT_BYTES = 24  # an element of K: LE64(c0) || LE64(c1) || LE64(c2)

Fe3 = tuple[int, int, int]
ZERO: Fe3 = (0, 0, 0)
ONE: Fe3 = (1, 0, 0)


# ---------------------------------------------------------------- fields


def inv(a: int) -> int:
    assert a % P, "inverse of 0"
    return pow(a, P - 2, P)


def root(n: int) -> int:
    log_n = n.bit_length() - 1
    assert n == 1 << log_n and log_n <= 32
    return pow(pow(G, (P - 1) >> 32, P), 1 << (32 - log_n), P)


def kbase(v: int) -> Fe3:
    return (v, 0, 0)


def kadd(a: Fe3, b: Fe3) -> Fe3:
    return ((a[0] + b[0]) % P, (a[1] + b[1]) % P, (a[2] + b[2]) % P)


def ksub(a: Fe3, b: Fe3) -> Fe3:
    return ((a[0] - b[0]) % P, (a[1] - b[1]) % P, (a[2] - b[2]) % P)


def kmul(a: Fe3, b: Fe3) -> Fe3:
    # schoolbook product of degree <= 4, then X^3 = W, X^4 = W X
    d = [0] * 5
    for i in range(3):
        for j in range(3):
            d[i + j] += a[i] * b[j]
    return ((d[0] + W * d[3]) % P, (d[1] + W * d[4]) % P, d[2] % P)


def kscale(a: Fe3, s: int) -> Fe3:
    return (a[0] * s % P, a[1] * s % P, a[2] * s % P)


def frobenius(a: Fe3) -> Fe3:
    return (a[0], a[1] * GAMMA % P, a[2] * GAMMA * GAMMA % P)


def kinv(a: Fe3) -> Fe3:
    # a^-1 = a^p a^(p^2) / N(a), with the norm N(a) = a a^p a^(p^2) in F
    conj = kmul(frobenius(a), frobenius(frobenius(a)))
    norm = kmul(a, conj)
    assert norm[1] == norm[2] == 0, "the norm lies in F"
    return kscale(conj, inv(norm[0]))


def kpow(a: Fe3, e: int) -> Fe3:
    r = ONE
    while e:
        if e & 1:
            r = kmul(r, a)
        a = kmul(a, a)
        e >>= 1
    return r


def kbytes(a: Fe3) -> bytes:
    return b"".join(c.to_bytes(8, "little") for c in a)


# ---------------------------------------------------------------- polynomials over F


def ntt(values: Sequence[int], w: int) -> list[int]:
    """out[k] = sum_i values[i] * w^(i*k) (len a power of two, w of that order)."""
    n = len(values)
    a = list(values)
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            a[i], a[j] = a[j], a[i]
    length = 2
    while length <= n:
        step = pow(w, n // length, P)
        half = length // 2
        twiddles = [1] * half
        for t in range(1, half):
            twiddles[t] = twiddles[t - 1] * step % P
        for start in range(0, n, length):
            for t in range(half):
                u = a[start + t]
                v = a[start + t + half] * twiddles[t] % P
                a[start + t] = (u + v) % P
                a[start + t + half] = (u - v) % P
        length *= 2
    return a


def interpolate(values: Sequence[int], offset: int = 1) -> list[int]:
    """Coefficients of the polynomial taking ``values`` on ``offset * <w_n>``."""
    n = len(values)
    coeffs = ntt(values, inv(root(n)))
    n_inv = inv(n)
    o_inv = inv(offset)
    scale = n_inv
    for k in range(n):
        coeffs[k] = coeffs[k] * scale % P
        scale = scale * o_inv % P
    return coeffs


def evaluate_on_coset(coeffs: Sequence[int], n: int, offset: int) -> list[int]:
    """The polynomial with ``coeffs`` on ``offset * <w_n>`` (natural order)."""
    padded = [0] * n
    scale = 1
    for k, c in enumerate(coeffs):
        padded[k] = c * scale % P
        scale = scale * offset % P
    return ntt(padded, root(n))


def k_interpolate(values: Sequence[Fe3], offset: int = 1) -> list[Fe3]:
    parts = [interpolate([v[c] for v in values], offset) for c in range(3)]
    return list(zip(*parts, strict=True))


def k_evaluate_on_coset(coeffs: Sequence[Fe3], n: int, offset: int) -> list[Fe3]:
    parts = [evaluate_on_coset([c[k] for c in coeffs], n, offset) for k in range(3)]
    return list(zip(*parts, strict=True))


def horner_at_ext(coeffs: Sequence[int] | Sequence[Fe3], x: Fe3) -> Fe3:
    acc = ZERO
    for c in reversed(coeffs):
        term = c if isinstance(c, tuple) else kbase(c)
        acc = kadd(kmul(acc, x), term)
    return acc


# ---------------------------------------------------------------- hashing


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class Tree:
    """The 2n-node Merkle array of protocol.md 3."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        n = len(leaves)
        self.n = n
        self.nodes: list[bytes] = [b""] * (2 * n)
        for i, leaf in enumerate(leaves):
            self.nodes[n + i] = sha(b"\x00" + leaf)
        for k in range(n - 1, 0, -1):
            self.nodes[k] = sha(b"\x01" + self.nodes[2 * k] + self.nodes[2 * k + 1])

    @property
    def root(self) -> bytes:
        return self.nodes[1]

    def multiproof(self, indices: Sequence[int]) -> list[bytes]:
        known = sorted({self.n + i for i in indices})
        out = []
        while known != [1]:
            present = set(known)
            for v in known:
                if v ^ 1 not in present:
                    out.append(self.nodes[v ^ 1])
            known = sorted({v >> 1 for v in known})
        return out


class Channel:
    def __init__(self) -> None:
        self.s = bytes(32)
        self.ctr = 0

    def absorb(self, data: bytes) -> None:
        self.s = sha(b"\x02" + self.s + data)
        self.ctr = 0

    def squeeze(self) -> bytes:
        out = sha(b"\x03" + self.s + self.ctr.to_bytes(8, "little"))
        self.ctr += 1
        return out

    def base(self) -> int:
        while True:
            v = int.from_bytes(self.squeeze()[:8], "little")
            if v < P:
                return v

    def ext(self) -> Fe3:
        c0 = self.base()
        c1 = self.base()
        return (c0, c1, self.base())

    def index(self, n: int) -> int:
        return int.from_bytes(self.squeeze()[:8], "little") % n


# ---------------------------------------------------------------- the AIR


def constraints(
    program: Program,
    cur: Sequence[Fe3],
    nxt: Sequence[Fe3],
    inputs: Sequence[int],
    outputs: Sequence[int],
) -> tuple[list[Fe3], list[Fe3], list[Fe3]]:
    """(transition, row-0 boundary, last-row boundary) constraint values, canonical order."""
    code = program.instructions
    n_reg = len(program.registers)
    n_ins = len(code)
    helper = {k: n_reg + n_ins + j for j, k in enumerate(program.branch_indices)}

    def sel(row: Sequence[Fe3], k: int) -> Fe3:
        return row[n_reg + k]

    def written(k: int) -> Fe3:
        ins = code[k]
        a, b, imm = cur[ins.ra] if n_reg else ZERO, cur[ins.rb] if n_reg else ZERO, kbase(ins.imm)
        return {
            Op.SET: lambda: imm,
            Op.MOV: lambda: a,
            Op.ADD: lambda: kadd(a, b),
            Op.SUB: lambda: ksub(a, b),
            Op.MUL: lambda: kmul(a, b),
            Op.ADDI: lambda: kadd(a, imm),
            Op.SUBI: lambda: ksub(a, imm),
            Op.MULI: lambda: kmul(a, imm),
        }[ins.op]()

    trans: list[Fe3] = []
    for r in range(n_reg):
        s_r, update = ZERO, ZERO
        for k, ins in enumerate(code):
            if ins.op is Op.INV and ins.rd == r:
                s_r = kadd(s_r, sel(cur, k))
            elif ins.op.writes and ins.rd == r:
                update = kadd(update, kmul(sel(cur, k), ksub(written(k), cur[r])))
        trans.append(ksub(kmul(ksub(ONE, s_r), ksub(nxt[r], cur[r])), update))
    incoming: list[Fe3] = [ZERO] * n_ins
    for k, ins in enumerate(code):
        s = sel(cur, k)
        if ins.op in (Op.JZ, Op.JNZ):
            ah = kmul(cur[ins.ra], cur[helper[k]])
            taken = ksub(ONE, ah) if ins.op is Op.JZ else ah
            fall = ah if ins.op is Op.JZ else ksub(ONE, ah)
            incoming[ins.target] = kadd(incoming[ins.target], kmul(s, taken))
            incoming[k + 1] = kadd(incoming[k + 1], kmul(s, fall))
        elif ins.op is Op.JMP:
            incoming[ins.target] = kadd(incoming[ins.target], s)
        elif ins.op is Op.HALT:
            incoming[k] = kadd(incoming[k], s)
        else:
            incoming[k + 1] = kadd(incoming[k + 1], s)
    for t in range(n_ins):
        trans.append(ksub(sel(nxt, t), incoming[t]))
    for k in program.branch_indices:
        a = cur[code[k].ra]
        trans.append(kmul(a, ksub(ONE, kmul(a, cur[helper[k]]))))
    for k, ins in enumerate(code):
        if ins.op is Op.INV:
            trans.append(kmul(sel(cur, k), ksub(kmul(cur[ins.ra], nxt[ins.rd]), ONE)))
        elif ins.op is Op.ASSERT_ZERO:
            trans.append(kmul(sel(cur, k), cur[ins.ra]))
        elif ins.op is Op.ASSERT_EQ:
            trans.append(kmul(sel(cur, k), ksub(cur[ins.ra], cur[ins.rb])))
    first = [ksub(sel(cur, k), ONE if k == 0 else ZERO) for k in range(n_ins)]
    for r in range(n_reg):
        first.append(ksub(cur[r], kbase(inputs[r]) if r < program.n_inputs else ZERO))
    halt_sum = ZERO
    for k, ins in enumerate(code):
        if ins.op is Op.HALT:
            halt_sum = kadd(halt_sum, sel(cur, k))
    last = [ksub(halt_sum, ONE)]
    for j, r in enumerate(program.output_registers):
        last.append(ksub(cur[r], kbase(outputs[j])))
    return trans, first, last


def constraint_kinds(program: Program) -> list[int]:
    """The protocol.md 5 group number (1..8) of each constraint, in canonical order."""
    code = program.instructions
    checked = sum(ins.op in (Op.INV, Op.ASSERT_ZERO, Op.ASSERT_EQ) for ins in code)
    return (
        [1] * len(program.registers)
        + [2] * len(code)
        + [3] * len(program.branch_indices)
        + [4] * checked
        + [5] * len(code)
        + [6] * len(program.registers)
        + [7]
        + [8] * len(program.output_registers)
    )


def violated_kinds(
    program: Program,
    columns: Sequence[Sequence[int]],
    inputs: Sequence[int],
    outputs: Sequence[int],
) -> set[int]:
    """The constraint groups (protocol.md 5 numbering) the trace ``columns`` violates."""
    kinds = constraint_kinds(program)
    n = len(columns[0])
    rows = [[kbase(col[i]) for col in columns] for i in range(n)]
    bad: set[int] = set()
    for i in range(n):
        trans, first, last = constraints(program, rows[i], rows[(i + 1) % n], inputs, outputs)
        values: list[tuple[int, Fe3]] = []
        if i < n - 1:
            values += list(zip(kinds[: len(trans)], trans, strict=True))
        if i == 0:
            values += list(zip(kinds[len(trans) : len(trans) + len(first)], first, strict=True))
        if i == n - 1:
            values += list(zip(kinds[len(trans) + len(first) :], last, strict=True))
        bad |= {kind for kind, v in values if v != ZERO}
    return bad


# ---------------------------------------------------------------- forged executions


def forged_trace(
    program: Program,
    inputs: Sequence[int],
    *,
    rows: int | None = None,
    start_pc: int = 0,
    flip_branch_at: int | None = None,
    inv_result: int | None = None,
    max_cycles: int = 10_000,
) -> list[list[int]]:
    """An execution trace produced by a *wrong* machine, for forgery tests.

    Assertions are ignored (a failing ``assert_*`` simply continues), execution starts at
    ``start_pc``, the branch executed at cycle ``flip_branch_at`` goes the wrong way,
    ``inv`` writes ``inv_result`` instead of the inverse (and 0 for ``inv 0``). The
    helper columns are computed honestly; ``rows`` fixes T (the trace is cut or padded
    with the last state), otherwise T follows protocol.md 4.
    """
    code = program.instructions
    regs = list(inputs) + [0] * (len(program.registers) - program.n_inputs)
    pc = start_pc
    states: list[tuple[int, list[int]]] = []
    for cycle in range(max_cycles):
        states.append((pc, list(regs)))
        ins = code[pc]
        a = regs[ins.ra] if regs else 0
        b = regs[ins.rb] if regs else 0
        op = ins.op
        next_pc = pc + 1
        if op is Op.HALT:
            break
        if op in (Op.JZ, Op.JNZ):
            taken = (a == 0) == (op is Op.JZ)
            if cycle == flip_branch_at:
                taken = not taken
            next_pc = ins.target if taken else pc + 1
        elif op is Op.JMP:
            next_pc = ins.target
        elif op is Op.INV:
            if inv_result is not None:
                regs[ins.rd] = inv_result
            else:
                regs[ins.rd] = inv(a) if a else 0
        elif op.writes:
            regs[ins.rd] = _alu(op, a, b, ins.imm)
        pc = next_pc
    if rows is None:
        rows = interpreter.trace_length(len(states))
    states = (states + [states[-1]] * rows)[:rows]
    n_reg = len(program.registers)
    columns = [[regs[r] for _, regs in states] for r in range(n_reg)]
    columns += [[1 if spc == k else 0 for spc, _ in states] for k in range(len(code))]
    for k in program.branch_indices:
        tested = columns[code[k].ra]
        columns.append([inv(a) if a else 0 for a in tested])
    return columns


def _alu(op: Op, a: int, b: int, imm: int) -> int:
    if op is Op.SET:
        return imm
    if op is Op.MOV:
        return a
    b_or_imm = b if op in (Op.ADD, Op.SUB, Op.MUL) else imm
    if op in (Op.ADD, Op.ADDI):
        return (a + b_or_imm) % P
    if op in (Op.SUB, Op.SUBI):
        return (a - b_or_imm) % P
    return a * b_or_imm % P


def outputs_of(program: Program, columns: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """The output registers' values in the trace's last row."""
    return tuple(columns[r][-1] for r in program.output_registers)


# ---------------------------------------------------------------- the prover


def prove(
    program: Program,
    inputs: Sequence[int],
    *,
    profile: str = "test",
    trace: Sequence[Sequence[int]] | None = None,
    outputs: Sequence[int] | None = None,
    cheat: str | None = None,
) -> bytes:
    """Receipt bytes (protocol.md 10) for ``program`` on ``inputs``.

    ``trace`` replaces the honest execution trace (its length is T); ``outputs`` replaces
    the claimed outputs (default: the trace's last row). An honest proof checks its own
    intermediate polynomials' degrees, so a wrong constraint here fails loudly.
    """
    prof = profiles.get(profile)
    inputs = tuple(inputs)
    forging = trace is not None or outputs is not None or cheat is not None
    columns = [
        list(c) for c in (trace if trace is not None else interpreter.trace(program, inputs))
    ]
    claimed = tuple(outputs) if outputs is not None else outputs_of(program, columns)
    w = len(columns)
    t = len(columns[0])
    log_t = t.bit_length() - 1
    assert w == program.trace_width and t == 1 << log_t and all(len(c) == t for c in columns)
    blowup, f = prof.blowup, prof.folding_factor
    n = blowup * t
    w_n, w_t = root(n), root(t)
    xs = [G * pow(w_n, i, P) % P for i in range(n)]

    # 1. trace LDE and commitment
    trace_coeffs, lde_rows, trace_tree = _commit_base(columns, n)

    ch = Channel()
    ch.absorb(_statement(1, prof, program, inputs, claimed, log_t))
    ch.absorb(trace_tree.root)

    # 2. composition polynomial
    n_trans = (
        len(constraint_kinds(program))
        - len(program.instructions)
        - len(program.registers)
        - 1
        - len(program.output_registers)
    )
    n_first = len(program.instructions) + len(program.registers)
    n_cons = len(constraint_kinds(program))
    alphas = [ch.ext() for _ in range(n_cons)]
    last_point = pow(w_t, t - 1, P)
    comp_values: list[Fe3] = []
    for i in range(n):
        x = xs[i]
        cur = [kbase(v) for v in lde_rows[i]]
        nxt = [kbase(v) for v in lde_rows[(i + blowup) % n]]
        trans, first, last = constraints(program, cur, nxt, inputs, claimed)
        assert len(trans) == n_trans and len(first) == n_first
        acc_t = acc_f = acc_l = ZERO
        for a, c in zip(alphas[:n_trans], trans, strict=True):
            acc_t = kadd(acc_t, kmul(a, c))
        for a, c in zip(alphas[n_trans : n_trans + n_first], first, strict=True):
            acc_f = kadd(acc_f, kmul(a, c))
        for a, c in zip(alphas[n_trans + n_first :], last, strict=True):
            acc_l = kadd(acc_l, kmul(a, c))
        value = kscale(acc_t, (x - last_point) * inv((pow(x, t, P) - 1) % P) % P)
        value = kadd(value, kscale(acc_f, inv((x - 1) % P)))
        value = kadd(value, kscale(acc_l, inv((x - last_point) % P)))
        comp_values.append(value)
    comp_coeffs = k_interpolate(comp_values, G)
    if not forging:
        assert all(c == ZERO for c in comp_coeffs[2 * t :]), "composition degree >= 2T"
    segments = [comp_coeffs[:t], comp_coeffs[t : 2 * t]]
    seg_lde = [k_evaluate_on_coset(s, n, G) for s in segments]
    comp_tree = Tree([kbytes(seg_lde[0][i]) + kbytes(seg_lde[1][i]) for i in range(n)])
    ch.absorb(comp_tree.root)

    # 3. out-of-domain frame
    z = _draw_z(ch)
    zw = kscale(z, w_t)
    t_z = [horner_at_ext(c, z) for c in trace_coeffs]
    t_zw = [horner_at_ext(c, zw) for c in trace_coeffs]
    c_z = [horner_at_ext(s, z) for s in segments]
    if cheat in ("ood", "downgrade"):
        trans, first, last = constraints(program, t_z, t_zw, inputs, claimed)
        z_t = kpow(z, t)
        combined = ZERO
        divisors = [
            kmul(ksub(z, kbase(last_point)), kinv(ksub(z_t, ONE))),
            kinv(ksub(z, ONE)),
            kinv(ksub(z, kbase(last_point))),
        ]
        for a, c, k in zip(
            alphas, trans + first + last, _groups(n_trans, n_first, n_cons), strict=True
        ):
            combined = kadd(combined, kmul(kmul(a, c), divisors[k]))
        c_z[0] = ksub(combined, kmul(z_t, c_z[1]))
    ch.absorb(b"".join(kbytes(v) for v in t_z + t_zw + c_z))

    # 4. DEEP composition
    a_co = [ch.ext() for _ in range(w)]
    b_co = [ch.ext() for _ in range(w)]
    c_co = [ch.ext() for _ in range(2)]
    deep = _deep(
        xs,
        z,
        zw,
        [([[kbase(v) for v in row] for row in lde_rows], t_z, t_zw, a_co, b_co)],
        ([[seg[i] for seg in seg_lde] for i in range(n)], c_z, c_co),
    )
    deep = _deep_cheat(deep, cheat, blowup, t)

    layers, degree, remainder, nonce, positions = _fri_grind_query(
        ch, deep, t, prof, cheat, forging
    )
    out = [
        *_receipt_head(1, prof, program, inputs, claimed, log_t),
        w.to_bytes(2, "little"),
        trace_tree.root,
        comp_tree.root,
        b"".join(kbytes(v) for v in t_z + t_zw + c_z),
        *_fri_head(layers, degree, remainder, nonce, positions),
    ]
    out += [v.to_bytes(8, "little") for i in positions for v in lde_rows[i]]
    out += _digests(trace_tree.multiproof(positions))
    out += [kbytes(seg_lde[0][i]) + kbytes(seg_lde[1][i]) for i in positions]
    out += _digests(comp_tree.multiproof(positions))
    out += _fri_openings(layers, positions, n, f)
    return b"".join(out)


def _fri_grind_query(
    ch: Channel,
    deep: list[Fe3],
    t: int,
    prof: profiles.Profile,
    cheat: str | None,
    forging: bool,
) -> tuple[list[tuple[Tree, list[Fe3]]], int, list[Fe3], int, list[int]]:
    """Protocol.md 8.5-8.7 on layer 0 = ``deep``: (layers, d_L, remainder, nonce, positions)."""
    n = len(deep)
    f = prof.folding_factor
    # 5. FRI
    layers: list[tuple[Tree, list[Fe3]]] = []
    values, size, degree, offset = deep, n, t, G
    while degree > prof.max_remainder_size:
        stride = size // f
        tree = Tree(
            [b"".join(kbytes(values[i + j * stride]) for j in range(f)) for i in range(stride)]
        )
        layers.append((tree, values))
        ch.absorb(tree.root)
        beta = ch.ext()
        coeffs = k_interpolate(values, offset)
        folded_coeffs = []
        for m in range(stride):
            acc, bk = ZERO, ONE
            for k in range(f):
                acc = kadd(acc, kmul(bk, coeffs[m * f + k]))
                bk = kmul(bk, beta)
            folded_coeffs.append(acc)
        offset = pow(offset, f, P)
        size, degree = stride, degree // f
        values = k_evaluate_on_coset(folded_coeffs, size, offset)
        if cheat == "fold" and len(layers) == 1:
            values = [kadd(v, ONE) for v in values]
    final_coeffs = k_interpolate(values, offset)
    if not forging:
        assert all(c == ZERO for c in final_coeffs[degree:]), "FRI remainder degree too high"
    remainder = final_coeffs[:degree]
    if cheat == "remainder":
        remainder[0] = kadd(remainder[0], ONE)
    ch.absorb(degree.to_bytes(2, "little") + b"".join(kbytes(c) for c in remainder))

    # 6. grinding
    nonce = 0
    mask = (1 << prof.grinding_bits) - 1
    while int.from_bytes(
        sha(b"\x04" + ch.s + nonce.to_bytes(8, "little"))[:8], "little"
    ) & mask or (cheat == "downgrade" and not _queries_in_coset(ch, nonce, prof, n)):
        nonce += 1
    ch.absorb(nonce.to_bytes(8, "little"))

    positions = sorted({ch.index(n) for _ in range(prof.queries)})

    return layers, degree, remainder, nonce, positions


def _queries_in_coset(ch: Channel, nonce: int, prof: profiles.Profile, n: int) -> bool:
    """Would absorbing ``nonce`` draw only positions ``i = 0 mod B`` (the forger's coset)?"""
    trial = Channel()
    trial.s = ch.s
    trial.absorb(nonce.to_bytes(8, "little"))
    return all(trial.index(n) % prof.blowup == 0 for _ in range(prof.queries))


def _groups(n_trans: int, n_first: int, n_cons: int) -> list[int]:
    return [0] * n_trans + [1] * n_first + [2] * (n_cons - n_trans - n_first)


def _digests(proof: list[bytes]) -> list[bytes]:
    return [len(proof).to_bytes(4, "little"), *proof]


def _io(air: int, values: Sequence[int]) -> bytes:
    """A statement's inputs or outputs: a count (2 bytes under AIR 1, 4 under AIR 2), then
    the values."""
    return len(values).to_bytes(2 * air, "little") + b"".join(
        v.to_bytes(8, "little") for v in values
    )


def _statement(
    air: int,
    prof: profiles.Profile,
    program: Program,
    inputs: Sequence[int],
    claimed: Sequence[int],
    log_t: int,
) -> bytes:
    """The transcript's first absorption: the statement (protocol.md 8.1; under AIR 2,
    version 3 and the air id before the profile's parameters)."""
    version = bytes([1 + air, 0]) + (bytes([2]) if air == 2 else b"")
    return (
        b"zkactors-stark"
        + version
        + bytes([prof.id, prof.log_blowup])
        + prof.queries.to_bytes(2, "little")
        + bytes([prof.grinding_bits, prof.log_folding_factor])
        + prof.max_remainder_size.to_bytes(2, "little")
        + program.digest
        + _io(air, inputs)
        + _io(air, claimed)
        + bytes([log_t])
    )


def _receipt_head(
    air: int,
    prof: profiles.Profile,
    program: Program,
    inputs: Sequence[int],
    claimed: Sequence[int],
    log_t: int,
) -> list[bytes]:
    """A receipt's first fields, up to log2 T (protocol.md 10; 16 for format 3, which adds
    the air id after the profile id and 4-byte I/O counts)."""
    ids = bytes([prof.id, 2]) if air == 2 else bytes([prof.id])
    return [
        b"ZKRC",
        (1 + air).to_bytes(2, "little"),
        ids,
        program.digest,
        _io(air, inputs),
        _io(air, claimed),
        bytes([log_t]),
    ]


def _fri_head(
    layers: list[tuple[Tree, list[Fe3]]],
    degree: int,
    remainder: list[Fe3],
    nonce: int,
    positions: list[int],
) -> list[bytes]:
    """The receipt fields after the OOD frame and before the opened rows, alike in both
    formats: L, the FRI roots, the remainder, the nonce and |P|."""
    return [
        bytes([len(layers)]),
        *(tree.root for tree, _ in layers),
        degree.to_bytes(2, "little"),
        *(kbytes(c) for c in remainder),
        nonce.to_bytes(8, "little"),
        len(positions).to_bytes(2, "little"),
    ]


def _commit_base(
    columns: Sequence[Sequence[int]], n: int
) -> tuple[list[list[int]], list[list[int]], Tree]:
    """Base-field columns' coefficients, their LDE rows on the coset of size ``n`` and the
    Merkle tree of those rows."""
    coeffs = [interpolate(col) for col in columns]
    lde = [evaluate_on_coset(c, n, G) for c in coeffs]
    rows = [[lde[j][i] for j in range(len(columns))] for i in range(n)]
    tree = Tree([b"".join(v.to_bytes(8, "little") for v in row) for row in rows])
    return coeffs, rows, tree


def _draw_z(ch: Channel) -> Fe3:
    """The out-of-domain point: drawn again while it lies in F."""
    z = ch.ext()
    while z[1] == 0 and z[2] == 0:  # z must not lie in F
        z = ch.ext()
    return z


def _deep(
    xs: Sequence[int],
    z: Fe3,
    zw: Fe3,
    traces: Sequence[
        tuple[Sequence[Sequence[Fe3]], Sequence[Fe3], Sequence[Fe3], Sequence[Fe3], Sequence[Fe3]]
    ],
    composition: tuple[Sequence[Sequence[Fe3]], Sequence[Fe3], Sequence[Fe3]],
) -> list[Fe3]:
    """DEEP(x) on every LDE point (protocol.md 8.4): ``traces`` holds, per committed trace,
    its LDE rows (as K values), its values at z and z·ω and their coefficients;
    ``composition`` the segments' rows, their values at z and coefficients."""
    seg_rows, c_z, c_co = composition
    deep: list[Fe3] = []
    for i, x_base in enumerate(xs):
        x = kbase(x_base)
        num_z, num_zw = ZERO, ZERO
        for rows, at_z, at_zw, a_co, b_co in traces:
            for j, tx in enumerate(rows[i]):
                num_z = kadd(num_z, kmul(a_co[j], ksub(tx, at_z[j])))
                num_zw = kadd(num_zw, kmul(b_co[j], ksub(tx, at_zw[j])))
        for k, cx in enumerate(seg_rows[i]):
            num_z = kadd(num_z, kmul(c_co[k], ksub(cx, c_z[k])))
        deep.append(kadd(kmul(num_z, kinv(ksub(x, z))), kmul(num_zw, kinv(ksub(x, zw)))))
    return deep


def _deep_cheat(deep: list[Fe3], cheat: str | None, blowup: int, t: int) -> list[Fe3]:
    """The DEEP values a cheat commits to FRI: +1 everywhere (``deep``), or (``downgrade``)
    the polynomial through DEEP on indices B*k, the points G * w_T^k of the coset G*H: it
    has degree < T, so FRI accepts it; it equals DEEP at those indices only."""
    if cheat == "deep":
        deep = [kadd(v, ONE) for v in deep]
    if cheat == "downgrade":
        agreeing = k_interpolate([deep[blowup * k] for k in range(t)], G)
        deep = k_evaluate_on_coset(agreeing, len(deep), G)
    return deep


# ---------------------------------------------------------------- the machine AIR (format 3)


def _fe3(e: Ext) -> Fe3:
    return (e.c0, e.c1, e.c2)


def claimed_machine_outputs(program: Program, columns: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """What a main trace says the outputs are: the .output registers' reg_fv, then the vA
    of every write row, in row order."""
    regs = tuple(columns[air2.REG_FV][r] for r in program.output_registers)
    writes = tuple(columns[air2.VA][i] for i in range(len(columns[0])) if columns[air2.WRITE_][i])
    return regs + writes


def machine_violations(
    st: air2.Statement,
    columns: Sequence[Sequence[int]],
    alpha: Ext | None = None,
    beta: Ext | None = None,
) -> set[tuple[int, int]]:
    """{(constraint index, row)}: every constraint of protocol.md 14 (0-based canonical
    index) that is nonzero on a row of H where its kind applies, the aux columns built
    honestly from ``columns`` (fixed α, β unless given)."""
    ch = air2.Challenges.of(alpha or Ext(12345, 678, 91011), beta or Ext(31337, 4242, 777))
    aux = air2.aux_columns(st, ch, columns)
    rom, fixed = air2.fixed_columns(st, ch)
    v = air2.verifier_sum(st, ch)
    t = st.trace_length
    bad = set()
    for i in range(t):
        j = (i + 1) % t
        values = air2.constraints(
            st,
            ch,
            v,
            [c[i] for c in columns],
            [c[j] for c in columns],
            [a[i] for a in aux],
            [a[j] for a in aux],
            rom[i],
            [f[i] for f in fixed],
        )
        for k, (kind, value) in enumerate(zip(air2.KINDS, values, strict=True)):
            applies = (
                kind == air2.EVERY
                or (kind == air2.TRANSITION and i < t - 1)
                or (kind == air2.FIRST and i == 0)
                or (kind == air2.LAST and i == t - 1)
            )
            if applies and value != Ext(0):
                bad.add((k, i))
    return bad


def prove_machine(
    program: Program,
    inputs: Sequence[int],
    *,
    profile: str = "test",
    trace: Sequence[Sequence[int]] | None = None,
    outputs: Sequence[int] | None = None,
    cheat: str | None = None,
) -> bytes:
    """Format-3 receipt bytes (protocol.md 15-16) for ``program`` on ``inputs`` (the
    .input registers' values, then the stream), under AIR 2.

    ``trace`` replaces the honest main trace (56 columns; its length is T); ``outputs``
    replaces the claimed outputs (default: what the trace says,
    :func:`claimed_machine_outputs`). The cheats are those of :func:`prove`.
    """
    prof = profiles.get(profile)
    inputs = tuple(inputs)
    forging = trace is not None or outputs is not None or cheat is not None
    if trace is None:
        columns = air2.main_trace(program, inputs).columns
    else:
        columns = [list(c) for c in trace]
    claimed = tuple(outputs) if outputs is not None else claimed_machine_outputs(program, columns)
    t = len(columns[0])
    log_t = t.bit_length() - 1
    assert len(columns) == air2.WIDTH and t == 1 << log_t and all(len(c) == t for c in columns)
    blowup = prof.blowup
    n = blowup * t
    w_n, w_t = root(n), root(t)
    xs = [G * pow(w_n, i, P) % P for i in range(n)]
    st = air2.Statement(program, inputs, claimed, t)

    # 1. main trace
    main_coeffs, main_rows, main_tree = _commit_base(columns, n)
    ch = Channel()
    ch.absorb(_statement(2, prof, program, inputs, claimed, log_t))
    ch.absorb(main_tree.root)

    # 2. LogUp challenges, 3. auxiliary trace
    alpha, beta = Ext(*ch.ext()), Ext(*ch.ext())
    lu = air2.Challenges.of(alpha, beta)
    aux_h = air2.aux_columns(st, lu, columns)
    aux_coeffs = [k_interpolate([_fe3(v) for v in col]) for col in aux_h]
    aux_lde = [k_evaluate_on_coset(c, n, G) for c in aux_coeffs]
    aux_tree = Tree(
        [b"".join(kbytes(aux_lde[j][i]) for j in range(air2.AUX_WIDTH)) for i in range(n)]
    )
    ch.absorb(aux_tree.root)

    # 4. composition
    alphas = [Ext(*ch.ext()) for _ in range(air2.N_CONSTRAINTS)]
    rom_h, fixed_h = air2.fixed_columns(st, lu)
    rom_d = k_evaluate_on_coset(k_interpolate([_fe3(v) for v in rom_h]), n, G)
    fixed_d = [evaluate_on_coset(interpolate(col), n, G) for col in fixed_h]
    v_sum = air2.verifier_sum(st, lu)
    last_point = pow(w_t, t - 1, P)
    comp_values: list[Fe3] = []
    for i in range(n):
        x = xs[i]
        j = (i + blowup) % n
        values = air2.constraints(
            st,
            lu,
            v_sum,
            main_rows[i],
            main_rows[j],
            [Ext(*aux_lde[c][i]) for c in range(air2.AUX_WIDTH)],
            [Ext(*aux_lde[c][j]) for c in range(air2.AUX_WIDTH)],
            Ext(*rom_d[i]),
            [col[i] for col in fixed_d],
        )
        vanishing = inv((pow(x, t, P) - 1) % P)
        divisors = {
            air2.EVERY: Ext(vanishing),
            air2.TRANSITION: Ext((x - last_point) * vanishing),
            air2.FIRST: Ext(inv((x - 1) % P)),
            air2.LAST: Ext(inv((x - last_point) % P)),
        }
        comp_values.append(_fe3(air2.combine(values, alphas, divisors)))
    comp_coeffs = k_interpolate(comp_values, G)
    if not forging:
        assert all(c == ZERO for c in comp_coeffs[3 * t :]), "composition degree >= 3T"
    segments = [comp_coeffs[k * t : (k + 1) * t] for k in range(air2.SEGMENTS)]
    seg_lde = [k_evaluate_on_coset(s, n, G) for s in segments]
    comp_tree = Tree([b"".join(kbytes(seg[i]) for seg in seg_lde) for i in range(n)])
    ch.absorb(comp_tree.root)

    # 5. out-of-domain frame
    z = _draw_z(ch)
    zw = kscale(z, w_t)
    t_z = [horner_at_ext(c, z) for c in main_coeffs]
    t_zw = [horner_at_ext(c, zw) for c in main_coeffs]
    a_z = [horner_at_ext(c, z) for c in aux_coeffs]
    a_zw = [horner_at_ext(c, zw) for c in aux_coeffs]
    c_z = [horner_at_ext(s, z) for s in segments]
    if cheat in ("ood", "downgrade"):
        combined = air2.composition_at(
            st,
            lu,
            [Ext(*v) for v in t_z],
            [Ext(*v) for v in t_zw],
            [Ext(*v) for v in a_z],
            [Ext(*v) for v in a_zw],
            alphas,
            Ext(*z),
        )
        z_t = kpow(z, t)
        rest = kadd(kmul(z_t, c_z[1]), kmul(kmul(z_t, z_t), c_z[2]))
        c_z[0] = ksub(_fe3(combined), rest)
    ood = t_z + t_zw + a_z + a_zw + c_z
    ch.absorb(b"".join(kbytes(v) for v in ood))

    # 6. DEEP
    a_co = [ch.ext() for _ in range(air2.WIDTH)]
    b_co = [ch.ext() for _ in range(air2.WIDTH)]
    aa_co = [ch.ext() for _ in range(air2.AUX_WIDTH)]
    ab_co = [ch.ext() for _ in range(air2.AUX_WIDTH)]
    c_co = [ch.ext() for _ in range(air2.SEGMENTS)]
    deep = _deep(
        xs,
        z,
        zw,
        [
            ([[kbase(v) for v in row] for row in main_rows], t_z, t_zw, a_co, b_co),
            ([[col[i] for col in aux_lde] for i in range(n)], a_z, a_zw, aa_co, ab_co),
        ],
        ([[seg[i] for seg in seg_lde] for i in range(n)], c_z, c_co),
    )
    deep = _deep_cheat(deep, cheat, blowup, t)

    # 7. FRI, grinding, queries
    layers, degree, remainder, nonce, positions = _fri_grind_query(
        ch, deep, t, prof, cheat, forging
    )
    out = [
        *_receipt_head(2, prof, program, inputs, claimed, log_t),
        air2.WIDTH.to_bytes(2, "little"),
        air2.AUX_WIDTH.to_bytes(2, "little"),
        main_tree.root,
        aux_tree.root,
        comp_tree.root,
        b"".join(kbytes(v) for v in ood),
        *_fri_head(layers, degree, remainder, nonce, positions),
    ]
    out += [v.to_bytes(8, "little") for i in positions for v in main_rows[i]]
    out += _digests(main_tree.multiproof(positions))
    out += [kbytes(aux_lde[j][i]) for i in positions for j in range(air2.AUX_WIDTH)]
    out += _digests(aux_tree.multiproof(positions))
    out += [kbytes(seg[i]) for i in positions for seg in seg_lde]
    out += _digests(comp_tree.multiproof(positions))
    out += _fri_openings(layers, positions, n, prof.folding_factor)
    return b"".join(out)


def _fri_openings(
    layers: list[tuple[Tree, list[Fe3]]], positions: list[int], n: int, f: int
) -> list[bytes]:
    out: list[bytes] = []
    size = n
    for tree, layer_values in layers:
        stride = size // f
        leaves = sorted({i % stride for i in positions})
        out.append(len(leaves).to_bytes(2, "little"))
        out += [kbytes(layer_values[i + j * stride]) for i in leaves for j in range(f)]
        out += _digests(tree.multiproof(leaves))
        size = stride
    return out


# ---------------------------------------------------------------- receipt layout


@attrs.frozen
class Section:
    """One field of a receipt: ``kind`` is "bytes" (magic, roots, digests), "count"
    (an integer of ``length`` bytes), "base" or "ext" (canonical field elements)."""

    name: str
    offset: int
    length: int
    kind: str


def layout(data: bytes) -> list[Section]:
    """The sections of a well-formed receipt, in order (protocol.md 10; 16 for format 3).
    Test-only: it trusts ``data`` to be well formed."""
    out: list[Section] = []
    pos = 0

    def add(name: str, length: int, kind: str) -> int:
        nonlocal pos
        out.append(Section(name, pos, length, kind))
        value = int.from_bytes(data[pos : pos + length], "little")
        pos += length
        return value

    add("magic", 4, "bytes")
    format_3 = add("version", 2, "count") == 3
    count = 4 if format_3 else 2
    prof = profiles.by_id(add("profile id", 1, "count"))
    if format_3:
        add("air id", 1, "count")
    add("program hash", 32, "bytes")
    n_in = add("n_inputs", count, "count")
    add("inputs", 8 * n_in, "base")
    n_out = add("n_outputs", count, "count")
    add("outputs", 8 * n_out, "base")
    log_t = add("log2 T", 1, "count")
    w = add("w", 2, "count")
    if format_3:
        w_aux = add("w_aux", 2, "count")
        add("trace root", 32, "bytes")
        add("aux root", 32, "bytes")
        add("composition root", 32, "bytes")
        add("ood main", EXT_BYTES * 2 * w, "ext")
        add("ood aux", EXT_BYTES * 2 * w_aux, "ext")
        add("ood composition", EXT_BYTES * 3, "ext")
    else:
        add("trace root", 32, "bytes")
        add("composition root", 32, "bytes")
        add("ood frame", EXT_BYTES * (2 * w + 2), "ext")
    n_layers = add("L", 1, "count")
    add("fri roots", 32 * n_layers, "bytes")
    d = add("d_L", 2, "count")
    add("remainder", EXT_BYTES * d, "ext")
    add("nonce", 8, "count")
    n_pos = add("|P|", 2, "count")
    add("trace rows", 8 * n_pos * w, "base")
    add("trace multiproof", 32 * add("trace multiproof count", 4, "count"), "bytes")
    if format_3:
        add("aux rows", EXT_BYTES * w_aux * n_pos, "ext")
        add("aux multiproof", 32 * add("aux multiproof count", 4, "count"), "bytes")
    segments = 3 if format_3 else 2
    add("composition rows", segments * EXT_BYTES * n_pos, "ext")
    add("composition multiproof", 32 * add("composition multiproof count", 4, "count"), "bytes")
    for layer in range(n_layers):
        k = add(f"fri layer {layer} k", 2, "count")
        add(f"fri layer {layer} leaves", EXT_BYTES * prof.folding_factor * k, "ext")
        count = add(f"fri layer {layer} multiproof count", 4, "count")
        add(f"fri layer {layer} multiproof", 32 * count, "bytes")
    assert pos == len(data) and (format_3 or log_t >= 3)
    return out


def section(data: bytes, name: str) -> Section:
    return next(s for s in layout(data) if s.name == name)


def set_section(data: bytes, s: Section, value: int) -> bytes:
    """``data`` with the field ``s`` holding ``value`` (LE, ``s.length`` bytes)."""
    return data[: s.offset] + value.to_bytes(s.length, "little") + data[s.offset + s.length :]


def bump_element(data: bytes, offset: int) -> bytes:
    """``data`` with the field element at ``offset`` replaced by itself + 1 (mod p): a
    different value that is still canonical."""
    value = int.from_bytes(data[offset : offset + 8], "little")
    return data[:offset] + ((value + 1) % P).to_bytes(8, "little") + data[offset + 8 :]
