"""AIR 2, the machine AIR (protocol.md 13–14), in plain Python: the oracle the native AIR
(``ext/air2.c``) must match value for value.

Everything here follows the specification's text and tables in their order:

- :func:`decode`: the 20 decoded fields of an instruction (its ROM row);
- :func:`main_trace`: the interpreter's run (its values and errors) turned into the 56
  main columns with the canonical values section 13 fixes (ports, timestamps,
  multiplicities, tables);
- :class:`Statement`: what the verifier knows (program, public inputs and outputs, T),
  from which the fixed columns (on H: :func:`fixed_columns`; at z: :func:`fixed_at`) and
  the verifier's own fractions V (:func:`verifier_sum`) are computed;
- :func:`fractions` and :func:`aux_columns`: the 25 LogUp fractions of a row and the 10
  auxiliary K columns;
- :func:`constraints`: the 47 constraints in canonical order, and :func:`composition_at`,
  their combination at the out-of-domain point.

Values handed to :func:`constraints` may be ints (elements of F, on H or D) or
:class:`~zkactors.zkvm.reference.field.Ext` (at z); the results are always Ext.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import zkactors.zkvm.interpreter as interpreter
from zkactors.zkvm.isa import Instruction
from zkactors.zkvm.program import Program
from zkactors.zkvm.reference.field import Ext, P, inv, root_of_unity

AIR_ID = 2
WIDTH = 56
AUX_WIDTH = 10
N_FRACTIONS = 25
N_EVERY = 30
N_TRANSITION = 8
N_FIRST = 6
N_LAST = 3
N_CONSTRAINTS = N_EVERY + N_TRANSITION + N_FIRST + N_LAST  # 47
SEGMENTS = 3
MIN_LOG_T = 8
MAX_IO = 1 << 16

#: The kinds of constraints, by divisor (protocol.md 14), in canonical order.
EVERY, TRANSITION, FIRST, LAST = "every", "transition", "first", "last"
KINDS = [EVERY] * N_EVERY + [TRANSITION] * N_TRANSITION + [FIRST] * N_FIRST + [LAST] * N_LAST

# Tags of enc(tag, ...) (protocol.md 13).
REG, RAM, FETCH, RANGE, BYTE, IN, OUT = 1, 2, 3, 4, 5, 6, 7

# Op codes (protocol.md 4 and 12), as ints so the v2 ones need no Op members here.
SET, MOV, ADD, SUB, MUL, ADDI, SUBI, MULI, INV, ASSERT_ZERO, ASSERT_EQ = range(1, 12)
JMP, JZ, JNZ, HALT = 12, 13, 14, 15
LOAD, LOAD_ABS, STORE, STORE_ABS, READ, WRITE = 16, 17, 18, 19, 20, 21

# ---------------------------------------------------------------- main columns

CLK, PC = 0, 1
FIELDS = 2  # the 20 decoded fields are columns 2..21, in this order:
FIELD_NAMES = (
    "lin", "mul", "inv", "assert", "jmp", "jz", "jnz", "halt", "load", "store",
    "read", "write", "sgn", "imm", "target", "rd", "ra", "rb", "eA", "eB",
)  # fmt: skip
LIN, MUL_, INV_, ASSERT, JMP_, JZ_, JNZ_, HALT_, LOAD_, STORE_, READ_, WRITE_ = range(2, 14)
SGN, IMM, TARGET, RD, RA, RB, EA, EB = range(14, 22)
H = 22
VA, PTSA, QA, RA_ = 23, 24, 25, 26
VB, PTSB, QB, RB_ = 27, 28, 29, 30
VM, PVM, PTSM, QM, RM_ = 31, 32, 33, 34, 35
VC, PVC, PTSC, QC, RC_ = 36, 37, 38, 39, 40
PTR_IN, PTR_OUT = 41, 42
M_ROM, M_CLK, M_BYTE = 43, 44, 45
REG_FTS, REG_FV = 46, 47
RAM_A, RAM_FTS, RAM_FV, RAM_U = 48, 49, 50, 51
B0 = 52  # b0..b3 are columns 52..55

# Fixed base columns, in the order of ext/air2.h (rom, a K column, is kept apart).
ROM_VALID, REG_VALID, OUT_SEL, OUT_VAL, BYTE_COL = range(5)
N_FIXED = 5

# ---------------------------------------------------------------- decoding


def decode(ins: Instruction) -> tuple[int, ...]:
    """The 20 decoded fields of protocol.md 13 (the instruction's ROM row), in order
    lin, mul, inv, assert, jmp, jz, jnz, halt, load, store, read, write, sgn, imm,
    target, rd, ra, rb, eA, eB."""
    op = int(ins.op)
    flags = [0] * 12
    sgn = imm = target = rd = ra = rb = e_a = e_b = 0
    if op in (SET, MOV, ADD, SUB, ADDI, SUBI):
        flags[0] = 1
        rd = ins.rd
        if op == SET:
            imm = ins.imm
        elif op == MOV:
            e_a = 1
        elif op == ADD:
            sgn, e_a, e_b = 1, 1, 1
        elif op == SUB:
            sgn, e_a, e_b = P - 1, 1, 1
        elif op == ADDI:
            imm, e_a = ins.imm, 1
        else:  # subi
            imm, e_a = (P - ins.imm) % P, 1
    elif op in (MUL, MULI):
        flags[1] = 1
        rd, e_a = ins.rd, 1
        if op == MUL:
            e_b = 1
        else:
            imm = ins.imm
    elif op == INV:
        flags[2] = 1
        rd, e_a = ins.rd, 1
    elif op in (ASSERT_ZERO, ASSERT_EQ):
        flags[3] = 1
        e_a = 1
        e_b = 1 if op == ASSERT_EQ else 0
    elif op == JMP:
        flags[4] = 1
        target = ins.target
    elif op in (JZ, JNZ):
        flags[5 if op == JZ else 6] = 1
        target, e_a = ins.target, 1
    elif op == HALT:
        flags[7] = 1
    elif op in (LOAD, LOAD_ABS):
        flags[8] = 1
        rd, imm = ins.rd, ins.imm
        e_a = 1 if op == LOAD else 0
    elif op in (STORE, STORE_ABS):
        flags[9] = 1
        imm, e_b = ins.imm, 1
        e_a = 1 if op == STORE else 0
    elif op == READ:
        flags[10] = 1
        rd = ins.rd
    elif op == WRITE:
        flags[11] = 1
        e_a = 1
    else:
        raise ValueError(f"unknown op {op}")
    ra = ins.ra if e_a else 0
    rb = ins.rb if e_b else 0
    return (*flags, sgn, imm, target, rd, ra, rb, e_a, e_b)


def trace_length(program: Program, cycles: int) -> int:
    """T = max(256, next power of two ≥ max(cycles + 1, n_instructions, n_registers))."""
    need = max(cycles + 1, len(program.instructions), len(program.registers))
    length = 1 << MIN_LOG_T
    while length < need:
        length *= 2
    return length


def min_trace_length(program: Program) -> int:
    """The smallest T a statement about ``program`` may have (protocol.md 17)."""
    return trace_length(program, 0)


# ---------------------------------------------------------------- execution


@dataclass
class MachineTrace:
    """The main trace (56 columns of T values) and what the run made public."""

    columns: list[list[int]]
    cycles: int
    #: the statement's outputs: the .output registers at halt, then the written values
    outputs: tuple[int, ...]


def main_trace(
    program: Program,
    inputs: Sequence[int],
    *,
    max_cycles: int = interpreter.DEFAULT_MAX_CYCLES,
    length: int | None = None,
) -> MachineTrace:
    """Run ``program`` on the statement's ``inputs`` (the ``.input`` registers' values,
    then the stream) and build the main trace of protocol.md 13.

    The run is the interpreter's (:func:`zkactors.zkvm.interpreter.steps`: its values
    and its errors); this adds what only the AIR has: the decoded fields, the ports'
    timestamps and their decomposition, the multiplicities and the final tables.
    ``length`` forces T (a power of two at least the run's own T).

    :raises InputError: for inputs of the wrong count or range (as the interpreter).
    :raises ExecutionError: as the interpreter.
    """
    steps = list(interpreter.steps(program, inputs, max_cycles))
    n_in, n_reg = program.n_inputs, len(program.registers)
    regs = list(inputs[:n_in]) + [0] * (n_reg - n_in)  # values, for the register table
    reg_ts = [0] * n_reg  # timestamp of each register's last access (0: the initial token)
    mem: dict[int, int] = {}
    mem_ts: dict[int, int] = {}
    stream_out: list[int] = []
    rows: list[list[int]] = []
    for step in steps:
        clk = step.cycle
        fields = decode(step.instruction)
        row = [0] * WIDTH
        row[CLK], row[PC] = clk, step.pc
        row[FIELDS : FIELDS + 20] = fields
        row[PTR_IN], row[PTR_OUT] = step.reads_before, step.writes_before
        if row[EA]:
            _access(row, (VA, PTSA, QA, RA_), 4 * clk + 1, reg_ts, row[RA], step.a)
        if row[EB]:
            _access(row, (VB, PTSB, QB, RB_), 4 * clk + 2, reg_ts, row[RB], step.b)
        row[H] = inv(row[VA]) if row[VA] else 0
        if step.address is not None:  # eM = load + store
            row[PVM] = step.memory_before
            _access(row, (VM, PTSM, QM, RM_), 4 * clk + 3, mem_ts, step.address, step.memory_after)
            mem[step.address] = step.memory_after
        if row[LIN] or row[MUL_] or row[INV_] or row[LOAD_] or row[READ_]:  # eC
            row[PVC] = step.rd_before
            _access(row, (VC, PTSC, QC, RC_), 4 * clk + 4, reg_ts, row[RD], step.rd_after)
            regs[row[RD]] = step.rd_after
        if row[WRITE_]:
            stream_out.append(row[VA])
        rows.append(row)
    cycles = len(rows)
    t = trace_length(program, cycles)
    if length is not None:
        if length < t or length & (length - 1):
            raise ValueError(f"T = {length} is too short for this run (T ≥ {t})")
        t = length
    halt_row = rows[-1]
    for clk in range(cycles, t):  # the halt repeats: same pc, no access
        row = list(halt_row)
        row[CLK] = clk
        rows.append(row)

    columns = [[row[c] for row in rows] for c in range(WIDTH)]
    for row in rows:
        columns[M_ROM][row[PC]] += 1
        e_m = row[LOAD_] + row[STORE_]
        e_c = row[LIN] + row[MUL_] + row[INV_] + row[LOAD_] + row[READ_]
        for enable, q in ((row[EA], QA), (row[EB], QB), (e_m, QM), (e_c, QC)):
            if enable:  # one range lookup per enabled port
                columns[M_CLK][row[q]] += 1
    for r in range(n_reg):
        columns[REG_FTS][r], columns[REG_FV][r] = reg_ts[r], regs[r]
    addresses = sorted(mem)
    previous = -1
    for j, address in enumerate(addresses):
        columns[RAM_A][j], columns[RAM_FTS][j] = address, mem_ts[address]
        columns[RAM_FV][j], columns[RAM_U][j] = mem[address], 1
        _set_bytes(columns, j, address - previous - 1)
        previous = address
    if addresses:
        _set_bytes(columns, len(addresses), (1 << 32) - 1 - addresses[-1])
    for i in range(t):
        for b in range(4):
            columns[M_BYTE][columns[B0 + b][i]] += 1
    outputs = tuple(regs[r] for r in program.output_registers) + tuple(stream_out)
    return MachineTrace(columns, cycles, outputs)


def _access(
    row: list[int],
    port: tuple[int, int, int, int],
    ts: int,
    last_ts: list[int] | dict[int, int],
    key: int,
    value: int,
) -> None:
    """An access at timestamp ``ts`` to register or address ``key`` through the port
    whose v, pts, q, r columns are ``port``: it consumes the token its predecessor left
    (timestamp ``last_ts[key]``, 0 if none) and leaves one with ``ts`` and ``value``."""
    v, pts, q, r = port
    previous = last_ts[key] if isinstance(last_ts, list) else last_ts.get(key, 0)
    row[v], row[pts] = value, previous
    row[q], row[r] = divmod(ts - previous - 1, 4)
    last_ts[key] = ts


def _set_bytes(columns: list[list[int]], row: int, value: int) -> None:
    for b in range(4):
        columns[B0 + b][row] = (value >> (8 * b)) & 0xFF


# ---------------------------------------------------------------- the statement


@dataclass(frozen=True)
class Statement:
    """What both sides know: the program, the public inputs and outputs, T."""

    program: Program
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    trace_length: int

    @property
    def initial(self) -> list[int]:
        """init_r: the .input registers' values, then 0."""
        n_in = self.program.n_inputs
        return list(self.inputs[:n_in]) + [0] * (len(self.program.registers) - n_in)

    @property
    def stream_inputs(self) -> tuple[int, ...]:
        return self.inputs[self.program.n_inputs :]

    @property
    def stream_outputs(self) -> tuple[int, ...]:
        return self.outputs[len(self.program.output_registers) :]

    def output_values(self) -> dict[int, int]:
        """Register -> its claimed value at halt, for the .output registers (the first
        claim for a register named twice; the verifier refuses disagreeing claims)."""
        claimed: dict[int, int] = {}
        for j, r in enumerate(self.program.output_registers):
            claimed.setdefault(r, self.outputs[j])
        return claimed

    def outputs_agree(self) -> bool:
        claimed = self.output_values()
        return all(
            self.outputs[j] == claimed[r] for j, r in enumerate(self.program.output_registers)
        )


@dataclass(frozen=True)
class Challenges:
    """The LogUp challenges α, β and β's powers β^0..β^21."""

    alpha: Ext
    beta: Ext
    powers: tuple[Ext, ...]

    @classmethod
    def of(cls, alpha: Ext, beta: Ext) -> Challenges:
        powers = [Ext(1)]
        for _ in range(21):
            powers.append(powers[-1] * beta)
        return cls(alpha, beta, tuple(powers))

    def enc(self, tag: int, *values: Ext | int) -> Ext:
        """enc(tag, x_1, …, x_n) = tag + Σ β^i·x_i."""
        total = Ext(tag)
        for i, x in enumerate(values, start=1):
            total = total + self.powers[i] * x
        return total


def rom_value(ch: Challenges, fields: Sequence[int]) -> Ext:
    """The rom column on an instruction's row: Σ_{i=1}^{20} β^{i+1}·field_i."""
    total = Ext(0)
    for i, field in enumerate(fields, start=1):
        total = total + ch.powers[i + 1] * field
    return total


def fixed_columns(st: Statement, ch: Challenges) -> tuple[list[Ext], list[list[int]]]:
    """The fixed columns on H: rom (K values) and rom_valid, reg_valid, out_sel, out_val,
    byte (F values), each T long."""
    t = st.trace_length
    program = st.program
    n_ins, n_reg = len(program.instructions), len(program.registers)
    rom = [rom_value(ch, decode(ins)) for ins in program.instructions] + [Ext(0)] * (t - n_ins)
    claimed = st.output_values()
    fixed = [
        [1] * n_ins + [0] * (t - n_ins),
        [1] * n_reg + [0] * (t - n_reg),
        [1 if k in claimed else 0 for k in range(t)],
        [claimed.get(k, 0) for k in range(t)],
        [k % 256 for k in range(t)],
    ]
    return rom, fixed


def fixed_at(st: Statement, ch: Challenges, z: Ext) -> tuple[Ext, list[Ext]]:
    """The fixed columns at z ∉ H (protocol.md 13): sparse Lagrange sums for the columns
    that vanish past their first rows, the barycentric formula in y = z^(T/256) for byte."""
    t = st.trace_length
    program = st.program
    omega = root_of_unity(t)
    z_t_minus_1 = z**t - 1
    basis: list[Ext] = []  # L_k(z) for k < max(n_instructions, R)
    n_ins, n_reg = len(program.instructions), len(program.registers)
    w_k = 1
    for _ in range(max(n_ins, n_reg)):
        basis.append(z_t_minus_1 * w_k / ((z - w_k) * t))
        w_k = w_k * omega % P
    rom = Ext(0)
    for k, ins in enumerate(program.instructions):
        rom = rom + basis[k] * rom_value(ch, decode(ins))
    rom_valid = _sum(basis[:n_ins])
    reg_valid = _sum(basis[:n_reg])
    claimed = st.output_values()
    out_sel = _sum([basis[r] for r in sorted(claimed)])
    out_val = _sum([basis[r] * claimed[r] for r in sorted(claimed)])
    y = z ** (t // 256)
    omega_256 = root_of_unity(256)
    total = Ext(0)
    w_j = 1
    for j in range(256):
        total = total + (y - w_j).inverse() * (j * w_j % P)
        w_j = w_j * omega_256 % P
    byte = (y**256 - 1) * total / 256
    return rom, [rom_valid, reg_valid, out_sel, out_val, byte]


def _sum(values: Sequence[Ext]) -> Ext:
    total = Ext(0)
    for v in values:
        total = total + v
    return total


def verifier_sum(st: Statement, ch: Challenges) -> Ext:
    """V: the initial register tokens and stream inputs added, the stream outputs removed."""
    a = ch.alpha
    v = Ext(0)
    for r, value in enumerate(st.initial):
        v = v + (a - ch.enc(REG, r, 0, value)).inverse()
    for j, value in enumerate(st.stream_inputs):
        v = v + (a - ch.enc(IN, j, value)).inverse()
    for j, value in enumerate(st.stream_outputs):
        v = v - (a - ch.enc(OUT, j, value)).inverse()
    return v


# ---------------------------------------------------------------- LogUp fractions

Value = Ext | int


def _port_enables(row: Sequence[Value]) -> tuple[Value, Value]:
    """(eM, eC) = (load + store, lin + mul + inv + load + read)."""
    e_m = row[LOAD_] + row[STORE_]
    e_c = row[LIN] + row[MUL_] + row[INV_] + row[LOAD_] + row[READ_]
    return e_m, e_c


def _ts(row: Sequence[Value], port: int) -> Value:
    return 4 * row[CLK] + port + 1


def _l_value(row: Sequence[Value]) -> Value:
    return row[B0] + 256 * row[B0 + 1] + 65536 * row[B0 + 2] + 16777216 * row[B0 + 3]


def fractions(
    ch: Challenges, row: Sequence[Value], rom: Value, fixed: Sequence[Value]
) -> list[tuple[Value, Ext]]:
    """The 25 (multiplicity, enc value) pairs of a row, in canonical order."""
    e_a, e_b = row[EA], row[EB]
    e_m, e_c = _port_enables(row)
    addr_m = row[VA] + row[IMM]
    enc = ch.enc
    return [
        (-1, enc(FETCH, row[PC], *row[FIELDS : FIELDS + 20])),
        (row[M_ROM], Ext(FETCH) + ch.powers[1] * row[CLK] + rom),
        (-e_a, enc(REG, row[RA], row[PTSA], row[VA])),
        (e_a, enc(REG, row[RA], _ts(row, 0), row[VA])),
        (-e_b, enc(REG, row[RB], row[PTSB], row[VB])),
        (e_b, enc(REG, row[RB], _ts(row, 1), row[VB])),
        (-e_m, enc(RAM, addr_m, row[PTSM], row[PVM])),
        (e_m, enc(RAM, addr_m, _ts(row, 2), row[VM])),
        (-e_c, enc(REG, row[RD], row[PTSC], row[PVC])),
        (e_c, enc(REG, row[RD], _ts(row, 3), row[VC])),
        (-e_a, enc(RANGE, row[QA])),
        (-e_b, enc(RANGE, row[QB])),
        (-e_m, enc(RANGE, row[QM])),
        (-e_c, enc(RANGE, row[QC])),
        (row[M_CLK], enc(RANGE, row[CLK])),
        (-row[READ_], enc(IN, row[PTR_IN], row[VC])),
        (row[WRITE_], enc(OUT, row[PTR_OUT], row[VA])),
        (-fixed[REG_VALID], enc(REG, row[CLK], row[REG_FTS], row[REG_FV])),
        (row[RAM_U], enc(RAM, row[RAM_A], 0, 0)),
        (-row[RAM_U], enc(RAM, row[RAM_A], row[RAM_FTS], row[RAM_FV])),
        (-1, enc(BYTE, row[B0])),
        (-1, enc(BYTE, row[B0 + 1])),
        (-1, enc(BYTE, row[B0 + 2])),
        (-1, enc(BYTE, row[B0 + 3])),
        (row[M_BYTE], enc(BYTE, fixed[BYTE_COL])),
    ]


def _groups() -> list[range]:
    """Fraction indices (0-based) of A_0..A_8: three each, A_8 the 25th alone."""
    return [range(3 * g, min(3 * g + 3, N_FRACTIONS)) for g in range(9)]


def aux_columns(st: Statement, ch: Challenges, columns: Sequence[Sequence[int]]) -> list[list[Ext]]:
    """A_0..A_8 and S on H (10 K columns of T values).

    :raises ZeroDivisionError: if some α − v is 0 (probability about 25T/|K|).
    """
    t = st.trace_length
    rom, fixed = fixed_columns(st, ch)
    groups = _groups()
    aux: list[list[Ext]] = [[] for _ in range(AUX_WIDTH)]
    running = Ext(0)
    for i in range(t):
        row = [col[i] for col in columns]
        fr = fractions(ch, row, rom[i], [col[i] for col in fixed])
        row_sum = Ext(0)
        for g, members in enumerate(groups):
            a_g = Ext(0)
            for k in members:
                m, v = fr[k]
                a_g = a_g + (ch.alpha - v).inverse() * m
            aux[g].append(a_g)
            row_sum = row_sum + a_g
        aux[9].append(running)
        running = running + row_sum
    return aux


# ---------------------------------------------------------------- constraints


def constraints(
    st: Statement,
    ch: Challenges,
    v: Ext,
    cur: Sequence[Value],
    nxt: Sequence[Value],
    aux_cur: Sequence[Ext],
    aux_nxt: Sequence[Ext],
    rom: Value,
    fixed: Sequence[Value],
) -> list[Ext]:
    """The 47 constraints of protocol.md 14 in canonical order (30 every-row, 8
    transition, 6 first-row, 3 last-row); ``v`` is V (:func:`verifier_sum`)."""
    c: list[Value] = []
    alpha = ch.alpha
    e_m, e_c = _port_enables(cur)
    # 1. the remainders r_X are in {0, 1, 2, 3}
    for r in (RA_, RB_, RM_, RC_):
        c.append(cur[r] * (cur[r] - 1) * (cur[r] - 2) * (cur[r] - 3))
    # 2. h is 1/vA where vA is nonzero
    c.append(cur[VA] * (1 - cur[VA] * cur[H]))
    # 3. a port switched off reads 0
    c.append((1 - cur[EA]) * cur[VA])
    c.append((1 - cur[EB]) * cur[VB])
    # 4. what each class of instruction computes
    c.append(cur[LIN] * (cur[VC] - cur[VA] - cur[SGN] * cur[VB] - cur[IMM]))
    c.append(cur[MUL_] * (cur[VC] - cur[VA] * (cur[VB] + cur[IMM])))
    c.append(cur[INV_] * (cur[VA] * cur[VC] - 1))
    c.append(cur[ASSERT] * (cur[VA] - cur[VB]))
    c.append(cur[LOAD_] * (cur[VC] - cur[VM]))
    c.append(cur[LOAD_] * (cur[VM] - cur[PVM]))
    c.append(cur[STORE_] * (cur[VM] - cur[VB]))
    # 5. d = tsX − ptsX − 1 = 4·qX + rX for an enabled port
    ports = ((cur[EA], PTSA, QA, RA_), (cur[EB], PTSB, QB, RB_), (e_m, PTSM, QM, RM_))
    for port, (enable, pts, q, r) in enumerate((*ports, (e_c, PTSC, QC, RC_))):
        c.append(enable * (_ts(cur, port) - cur[pts] - 1 - 4 * cur[q] - cur[r]))
    # 6.–8.
    c.append(cur[M_ROM] * (1 - fixed[ROM_VALID]))
    c.append(cur[RAM_U] * (1 - cur[RAM_U]))
    c.append(fixed[OUT_SEL] * (cur[REG_FV] - fixed[OUT_VAL]))
    # 9. each A_g is the sum of its group's fractions
    fr = fractions(ch, cur, rom, fixed)
    for g, members in enumerate(_groups()):
        dens = [alpha - fr[k][1] for k in members]
        if g < 8:
            d1, d2, d3 = dens
            m1, m2, m3 = (fr[k][0] for k in members)
            c.append(aux_cur[g] * d1 * d2 * d3 - d2 * d3 * m1 - d1 * d3 * m2 - d1 * d2 * m3)
        else:
            c.append(aux_cur[8] * dens[0] - fr[24][0])
    assert len(c) == N_EVERY
    # Transition
    c.append(nxt[CLK] - cur[CLK] - 1)
    jump = cur[JMP_] + cur[JZ_] * (1 - cur[VA] * cur[H]) + cur[JNZ_] * cur[VA] * cur[H]
    c.append(nxt[PC] - (cur[PC] + 1 - cur[HALT_] + (cur[TARGET] - cur[PC] - 1) * jump))
    c.append(nxt[PTR_IN] - cur[PTR_IN] - cur[READ_])
    c.append(nxt[PTR_OUT] - cur[PTR_OUT] - cur[WRITE_])
    l_next = _l_value(nxt)
    c.append(nxt[RAM_U] * (1 - cur[RAM_U]))
    c.append(nxt[RAM_U] * (nxt[RAM_A] - cur[RAM_A] - 1 - l_next))
    c.append(cur[RAM_U] * (1 - nxt[RAM_U]) * ((1 << 32) - 1 - cur[RAM_A] - l_next))
    row_sum = _sum(aux_cur[:9])
    c.append(aux_nxt[9] - aux_cur[9] - row_sum)
    # First row
    c += [cur[CLK], cur[PC], cur[PTR_IN], cur[PTR_OUT], aux_cur[9]]
    c.append(cur[RAM_U] * (cur[RAM_A] - _l_value(cur)))
    # Last row
    c += [cur[HALT_] - 1, cur[RAM_U], aux_cur[9] + row_sum + v]
    assert len(c) == N_CONSTRAINTS
    return [Ext.lift(value) for value in c]


def divisors_inverse(z: Ext | int, trace_length: int) -> dict[str, Ext]:
    """1/divisor of each kind at a point outside H: 1/(x^T − 1), (x − ω^(T−1))/(x^T − 1),
    1/(x − 1), 1/(x − ω^(T−1))."""
    x = Ext.lift(z)
    last = pow(root_of_unity(trace_length), trace_length - 1, P)
    vanishing = (x**trace_length - 1).inverse()
    return {
        EVERY: vanishing,
        TRANSITION: (x - last) * vanishing,
        FIRST: (x - 1).inverse(),
        LAST: (x - last).inverse(),
    }


def composition_at(
    st: Statement,
    ch: Challenges,
    cur: Sequence[Value],
    nxt: Sequence[Value],
    aux_cur: Sequence[Ext],
    aux_nxt: Sequence[Ext],
    alphas: Sequence[Ext],
    z: Ext,
) -> Ext:
    """Σ_k α_k·c_k(z)/divisor_k(z) (protocol.md 15.4 at x = z, z ∉ H), which the verifier
    compares with C_0(z) + z^T·C_1(z) + z^(2T)·C_2(z)."""
    rom, fixed = fixed_at(st, ch, z)
    values = constraints(st, ch, verifier_sum(st, ch), cur, nxt, aux_cur, aux_nxt, rom, fixed)
    return combine(values, alphas, divisors_inverse(z, st.trace_length))


def combine(values: Sequence[Ext], alphas: Sequence[Ext], divisors: dict[str, Ext]) -> Ext:
    """Σ_k α_k·c_k / divisor of c_k's kind, summed kind by kind."""
    sums = {kind: Ext(0) for kind in (EVERY, TRANSITION, FIRST, LAST)}
    for kind, alpha, value in zip(KINDS, alphas, values, strict=True):
        sums[kind] = sums[kind] + alpha * value
    return _sum([sums[kind] * divisors[kind] for kind in sums])
