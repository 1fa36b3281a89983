"""Soundness of AIR 2 (protocol.md 13-14): forged machine traces, each first shown to break
exactly its target (one constraint, or the LogUp sum: the last-row constraint
``S + Σ A_g + V``), then proved with the oracle prover and refused by the reference
verifier (test profile, min_security_bits=0, so only the proof can refuse it).

A forgery is built from an honest trace (``air2.main_trace``) by changing cells, or from
the honest trace of a slightly different program, so that everything the forgery does
not aim at stays consistent. :func:`recount` then recomputes the lookup multiplicities
(m_rom, m_clk, m_byte) for what the forged trace looks up, so the only imbalance left is
the one the forgery is about.
"""

from __future__ import annotations

import attrs
import pytest
from machine_programs import MACHINE_INPUTS, MACHINE_SOURCE
from oracle_prover import machine_violations, prove_machine

from zkactors import programs
from zkactors.errors import VerificationError
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.isa import Op
from zkactors.zkvm.program import Program
from zkactors.zkvm.reference import air2, verify
from zkactors.zkvm.reference.field import P, inv
from zkactors.zkvm.verifier import verify as native_verify

T = 256
LOGUP = air2.N_CONSTRAINTS - 1  # 46: S + Σ A_g + V at the last row
PC_TRANSITION = 31  # pc' − (pc + 1 − halt + …)
RAM_STEP = 35  # ram_u'·(ram_a' − ram_a − 1 − L')
OUTPUT = 20  # out_sel·(reg_fv − out_val)


def recount(columns: list[list[int]]) -> list[list[int]]:
    """Recompute m_rom, m_clk and m_byte for the lookups the trace makes (those of a value
    outside the table stay unmatched: that is what the tables are for)."""
    t = len(columns[0])
    for c in (air2.M_ROM, air2.M_CLK, air2.M_BYTE):
        columns[c] = [0] * t
    for i in range(t):
        row = [col[i] for col in columns]
        columns[air2.M_ROM][row[air2.PC]] += 1
        e_m = row[air2.LOAD_] + row[air2.STORE_]
        e_c = sum(row[c] for c in (air2.LIN, air2.MUL_, air2.INV_, air2.LOAD_, air2.READ_))
        for enable, q in ((row[air2.EA], air2.QA), (row[air2.EB], air2.QB), (e_m, air2.QM)):
            if enable and row[q] < t:
                columns[air2.M_CLK][row[q]] += 1
        if e_c and row[air2.QC] < t:
            columns[air2.M_CLK][row[air2.QC]] += 1
        for b in range(4):
            columns[air2.M_BYTE][row[air2.B0 + b]] += 1
    return columns


@attrs.frozen
class Forgery:
    program: Program
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    columns: list[list[int]]

    def violated(self) -> set[int]:
        st = air2.Statement(self.program, self.inputs, self.outputs, len(self.columns[0]))
        return {k for k, _ in machine_violations(st, self.columns)}

    def refused(self, cheat: str | None = None) -> str:
        """The reference verifier's check; the native verifier must name the same."""
        data = prove_machine(
            self.program, self.inputs, trace=self.columns, outputs=self.outputs, cheat=cheat
        )
        with pytest.raises(VerificationError) as info:
            verify(data, self.program, min_security_bits=0)
        with pytest.raises(VerificationError) as native:
            native_verify(data, self.program, min_security_bits=0)
        assert native.value.check == info.value.check
        return info.value.check


def honest(program: Program, inputs: tuple[int, ...]) -> tuple[list[list[int]], tuple[int, ...]]:
    trace = air2.main_trace(program, inputs)
    return [list(c) for c in trace.columns], trace.outputs


def rows_running(columns: list[list[int]], flag: int) -> list[int]:
    return [i for i in range(len(columns[0])) if columns[flag][i]]


def test_the_honest_trace_is_accepted():
    fib = programs.load("fib")
    columns, outputs = honest(fib, (5,))
    forgery = Forgery(fib, (5,), outputs, recount(columns))
    assert forgery.violated() == set()
    verify(prove_machine(fib, (5,), trace=columns, outputs=outputs), fib, min_security_bits=0)


def test_register_read_returning_a_value_never_written():
    # fib's jz reads n = 5 in row 2; the forged read returns 7 (h = 1/7 keeps the branch's
    # arithmetic right, and 7 is nonzero like 5, so the control flow is unchanged).
    fib = programs.load("fib")
    columns, outputs = honest(fib, (5,))
    row = rows_running(columns, air2.JZ_)[0]
    assert columns[air2.VA][row] == 5
    columns[air2.VA][row] = 7
    columns[air2.H][row] = inv(7)
    forgery = Forgery(fib, (5,), outputs, recount(columns))
    assert forgery.violated() == {LOGUP}
    assert forgery.refused() == "ood"


def test_register_changed_between_accesses():
    # x is read twice and never written; the second read sees x + 1, and everything after
    # it (z's write, the final values, the claimed outputs) agrees with that.
    program = assemble(".input x\n.output y, z\nmov y, x\nmov z, x\nhalt\n")
    columns, outputs = honest(program, (10,))
    assert outputs == (10, 10)
    x, z = program.registers.index("x"), program.registers.index("z")
    columns[air2.VA][1] = columns[air2.VC][1] = 11
    columns[air2.H][1] = inv(11)
    columns[air2.REG_FV][x] = columns[air2.REG_FV][z] = 11
    forgery = Forgery(program, (10,), (10, 11), recount(columns))
    assert forgery.violated() == {LOGUP}
    assert forgery.refused() == "ood"
    assert forgery.refused(cheat="ood") in ("deep", "fri_fold", "fri_remainder")


def test_timestamp_that_goes_backwards():
    # fib's first subi (n = n − 1) reads n at ts 25 after the jz's read at ts 9. Forged:
    # the read claims pts = 25 (= ts, so d = −1 = 4·(p − 1) + 3) and so consumes the
    # very token it leaves; port C's write then consumes the jz's token. Every token
    # balances and 4·q + r = d holds; only q = p − 1, outside the clk table, is caught.
    fib = programs.load("fib")
    columns, outputs = honest(fib, (5,))
    row = next(i for i in range(T) if columns[air2.PC][i] == 6)
    ts_a, ts_c = 4 * row + 1, 4 * row + 4
    jz_ts = columns[air2.PTSA][row]
    assert columns[air2.PTSC][row] == ts_a and jz_ts < ts_a
    columns[air2.PTSA][row] = ts_a
    columns[air2.QA][row], columns[air2.RA_][row] = P - 1, 3
    columns[air2.PTSC][row] = jz_ts
    columns[air2.QC][row], columns[air2.RC_][row] = divmod(ts_c - jz_ts - 1, 4)
    forgery = Forgery(fib, (5,), outputs, recount(columns))
    assert forgery.violated() == {LOGUP}
    assert forgery.refused() == "ood"


def test_fetched_instruction_that_is_not_the_programs():
    # The trace of fib with "subi n, n, 2": every row fetches the fields of its
    # instruction, but one instruction's imm is not the program's.
    fib = programs.load("fib")
    k = next(k for k, ins in enumerate(fib.instructions) if ins.op is Op.SUBI)
    code = list(fib.instructions)
    code[k] = attrs.evolve(code[k], imm=2)
    other = attrs.evolve(fib, instructions=tuple(code))
    columns, outputs = honest(other, (6,))
    assert outputs != honest(fib, (6,))[1]
    forgery = Forgery(fib, (6,), outputs, recount(columns))
    assert forgery.violated() == {LOGUP}
    assert forgery.refused() == "ood"


def test_pc_that_jumps_where_the_program_does_not():
    # Run fib with its jz turned into a jnz (which jumps to done at once for n = 5), then
    # put the jz's decoded fields back: every fetch is the program's, but at that row the
    # pc goes to the target although vA ≠ 0.
    fib = programs.load("fib")
    k = next(k for k, ins in enumerate(fib.instructions) if ins.op is Op.JZ)
    code = list(fib.instructions)
    code[k] = attrs.evolve(code[k], op=Op.JNZ)
    other = attrs.evolve(fib, instructions=tuple(code))
    columns, outputs = honest(other, (5,))
    row = rows_running(columns, air2.JNZ_)[0]
    columns[air2.JNZ_][row], columns[air2.JZ_][row] = 0, 1
    forgery = Forgery(fib, (5,), outputs, recount(columns))
    assert {
        (k, i) for k, i in machine_violations(air2.Statement(fib, (5,), outputs, T), columns)
    } == {(PC_TRANSITION, row)}
    assert forgery.refused() == "ood"


def test_output_register_claimed_otherwise():
    fib = programs.load("fib")
    columns, outputs = honest(fib, (5,))
    forgery = Forgery(fib, (5,), (outputs[0] + 1,), recount(columns))
    a = fib.registers.index("a")
    assert machine_violations(air2.Statement(fib, (5,), forgery.outputs, T), columns) == {
        (OUTPUT, a)
    }
    assert forgery.refused() == "ood"


def test_output_stream_value_never_written():
    # fib writes nothing to the output stream; the statement claims it wrote 8.
    fib = programs.load("fib")
    columns, outputs = honest(fib, (5,))
    forgery = Forgery(fib, (5,), (*outputs, 8), recount(columns))
    assert forgery.violated() == {LOGUP}
    assert forgery.refused() == "ood"


def test_input_stream_value_never_read():
    # fib reads nothing from the input stream; the statement says it consumed 8.
    fib = programs.load("fib")
    columns, outputs = honest(fib, (5,))
    forgery = Forgery(fib, (5, 8), outputs, recount(columns))
    assert forgery.violated() == {LOGUP}
    assert forgery.refused() == "ood"


def test_duplicate_ram_table_address():
    # Two RAM-table rows for address 5: each adds and removes the initial token (5, 0, 0),
    # so the LogUp sum balances; the address step a' − a − 1 = −1 has no byte
    # decomposition, so the transition constraint on the table fails at row 0.
    fib = programs.load("fib")
    columns, outputs = honest(fib, (5,))
    for j in (0, 1):
        columns[air2.RAM_A][j], columns[air2.RAM_U][j] = 5, 1
    for b, value in enumerate((5, 0, 0, 0)):  # row 0: L = ram_a
        columns[air2.B0 + b][0] = value
    for b, value in enumerate((0xFA, 0xFF, 0xFF, 0xFF)):  # row 2: L = 2^32 − 1 − 5
        columns[air2.B0 + b][2] = value
    forgery = Forgery(fib, (5,), outputs, recount(columns))
    assert machine_violations(air2.Statement(fib, (5,), outputs, T), forgery.columns) == {
        (RAM_STEP, 0)
    }
    assert forgery.refused() == "ood"


def test_register_table_final_value_not_the_last_written():
    # The register table claims a's final value is 99 (so is the claimed output): the
    # final token removed is one no access left.
    fib = programs.load("fib")
    columns, _outputs = honest(fib, (5,))
    a = fib.registers.index("a")
    columns[air2.REG_FV][a] = 99
    forgery = Forgery(fib, (5,), (99,), recount(columns))
    assert forgery.violated() == {LOGUP}
    assert forgery.refused() == "ood"


def test_downgrade_forgery_is_refused_by_the_policy_alone():
    # Protocol.md 11's attack on the insecure test profile works on AIR 2 too: a false
    # statement (a read of a value never written) with every check passing. Only the
    # security policy (AIR 2's figure, 16 bits here) refuses it.
    fib = programs.load("fib")
    columns, outputs = honest(fib, (5,))
    row = rows_running(columns, air2.JZ_)[0]
    columns[air2.VA][row] = 7
    columns[air2.H][row] = inv(7)
    forgery = Forgery(fib, (5,), outputs, recount(columns))
    data = prove_machine(fib, (5,), trace=forgery.columns, outputs=outputs, cheat="downgrade")
    verify(data, fib, min_security_bits=0)  # the test profile is insecure by design
    native_verify(data, fib, min_security_bits=0)
    with pytest.raises(VerificationError) as info:
        verify(data, fib)
    assert info.value.check == "policy"
    with pytest.raises(VerificationError) as info:
        native_verify(data, fib)
    assert info.value.check == "policy"


def _row_of(program: Program, columns: list[list[int]], text: str) -> int:
    """The (only) row executing the instruction whose source line is ``text``."""
    wanted = " ".join(text.split())
    k = next(k for k in range(len(program.instructions)) if program.source_line(k) == wanted)
    return columns[air2.PC].index(k)


def test_ram_read_returning_a_value_never_written():
    # load w, [100] reads memory no store wrote: 0. Forged: it returns 5, and all that
    # follows agrees (w = 5 is written to the output stream; the RAM and register tables
    # end with 5). The load consumes a token (100, 0, 5) nothing left.
    program = assemble(MACHINE_SOURCE)
    columns, outputs = honest(program, MACHINE_INPUTS)
    assert outputs == (13, 13, 0, 20)
    load = _row_of(program, columns, "load  w, [100]")
    write = _row_of(program, columns, "write w")
    columns[air2.VM][load] = columns[air2.PVM][load] = columns[air2.VC][load] = 5
    columns[air2.VA][write], columns[air2.H][write] = 5, inv(5)
    columns[air2.REG_FV][program.registers.index("w")] = 5
    columns[air2.RAM_FV][columns[air2.RAM_A].index(100)] = 5
    forgery = Forgery(program, MACHINE_INPUTS, (13, 13, 5, 20), recount(columns))
    assert forgery.violated() == {LOGUP}
    assert forgery.refused() == "ood"


def test_ram_read_of_a_stale_value():
    # load y, [a + 2] must see the x stored there (10); forged: it sees the initial 0,
    # consuming the table's initial token a second time (the store consumed it first).
    program = assemble(MACHINE_SOURCE)
    columns, _ = honest(program, MACHINE_INPUTS)
    load = _row_of(program, columns, "load  y, [a + 2]")
    add = _row_of(program, columns, "add   s, y, z")
    ts_m = 4 * load + 3
    columns[air2.VM][load] = columns[air2.PVM][load] = columns[air2.VC][load] = 0
    columns[air2.PTSM][load] = 0
    columns[air2.QM][load], columns[air2.RM_][load] = divmod(ts_m - 1, 4)
    columns[air2.VA][add], columns[air2.H][add] = 0, 0
    columns[air2.VC][add] = columns[air2.VB][add]  # s = 0 + z = 3
    write = _row_of(program, columns, "write s")
    columns[air2.VA][write], columns[air2.H][write] = 3, inv(3)
    for name, value in (("y", 0), ("s", 3)):
        columns[air2.REG_FV][program.registers.index(name)] = value
    columns[air2.RAM_FV][columns[air2.RAM_A].index(5)] = 0  # the load's value is the last
    forgery = Forgery(program, MACHINE_INPUTS, (3, 3, 0, 20), recount(columns))
    assert forgery.violated() == {LOGUP}
    assert forgery.refused() == "ood"


def test_input_read_that_is_not_in_the_statement():
    # The second read returns 21 (written out as such), the statement's stream says 20.
    program = assemble(MACHINE_SOURCE)
    columns, _ = honest(program, MACHINE_INPUTS)
    read = _row_of(program, columns, "read  v")
    write = _row_of(program, columns, "write v")
    columns[air2.VC][read] = 21
    columns[air2.VA][write], columns[air2.H][write] = 21, inv(21)
    columns[air2.REG_FV][program.registers.index("v")] = 21
    forgery = Forgery(program, MACHINE_INPUTS, (13, 13, 0, 21), recount(columns))
    assert forgery.violated() == {LOGUP}
    assert forgery.refused() == "ood"


def test_output_stream_value_changed():
    # The trace writes 20 last; the statement claims 21.
    program = assemble(MACHINE_SOURCE)
    columns, outputs = honest(program, MACHINE_INPUTS)
    forgery = Forgery(program, MACHINE_INPUTS, (*outputs[:-1], 21), recount(columns))
    assert forgery.violated() == {LOGUP}
    assert forgery.refused() == "ood"


def test_duplicate_ram_address_to_read_a_value_twice():
    # Address 100 twice in the RAM table: two initial tokens (100, 0, 0) — the only way
    # to make two "first" reads of one address. The table's step constraint refuses it.
    program = assemble(MACHINE_SOURCE)
    columns, outputs = honest(program, MACHINE_INPUTS)
    j = columns[air2.RAM_A].index(100)
    assert columns[air2.RAM_U][j + 1] == 0
    columns[air2.RAM_A][j + 1], columns[air2.RAM_U][j + 1] = 100, 1
    columns[air2.RAM_FTS][j + 1] = columns[air2.RAM_FV][j + 1] = 0
    limb = (1 << 32) - 101  # row U moves down one: L = 2^32 − 1 − 100
    for b in range(4):
        columns[air2.B0 + b][j + 2] = (limb >> (8 * b)) & 0xFF
    forgery = Forgery(program, MACHINE_INPUTS, outputs, recount(columns))
    st = air2.Statement(program, MACHINE_INPUTS, outputs, T)
    assert machine_violations(st, forgery.columns) == {(RAM_STEP, j)}
    assert forgery.refused() == "ood"
