"""The native AIR 2 (ext/air2.c, protocol.md 13-14) through its test binding
(zkactors._native.executor.Air2): honest traces satisfy every constraint on every row,
the LogUp sum closes, the base and extension evaluations agree, the fixed columns at z
are their interpolants, and a changed cell breaks the constraint that guards it."""

from __future__ import annotations

import random
from array import array

import pytest
from machine_bytes import format2, ins, sum_stream

from zkactors import programs
from zkactors._native import executor as native
from zkactors.field import P, ext_add, ext_inv, ext_mul, ext_sub, root_of_unity

Ext = tuple[int, int, int]
N_EVERY, N_TRANS, N_FIRST, N_LAST = native.AIR2_KINDS
N_C = N_EVERY + N_TRANS + N_FIRST + N_LAST
# Column numbers of protocol.md 13 used below.
PC, LIN, VA, VC, REG_FV, RAM_A, B0 = 1, 2, 23, 36, 47, 48, 52
LIN_CONSTRAINT, LAST_SUM, PC_TRANSITION, RAM_GAP = 7, 46, 31, 35

LIBRARY = [("fib", [7]), ("factorial", [5]), ("horner", [11]), ("mimc", [3, 17]), ("power", [5, 4])]


def rand_ext(rng: random.Random) -> Ext:
    return (rng.randrange(P), rng.randrange(P), rng.randrange(P))


class Run:
    """One statement, its honest trace, challenges, fixed and auxiliary columns."""

    def __init__(self, data: bytes, inputs: list[int], seed: int = 1) -> None:
        code, outputs, cycles, _, _ = native.MachineProgram(data).run(array("Q", inputs), 10**6)
        assert code == native.OK
        self.log_t = native.Air2.log_t_for(data, cycles)
        self.T = 1 << self.log_t
        self.cycles = cycles
        self.air = native.Air2(data, inputs, outputs, self.log_t)
        code, self.main = self.air.trace(10**6)
        assert code == native.OK
        rng = random.Random(seed)
        self.air.init_challenges(rand_ext(rng), rand_ext(rng))
        self.rom, self.fixed = self.air.fixed_columns()
        self.rebuild_aux()

    def rebuild_aux(self) -> None:
        code, self.aux = self.air.aux_columns(self.main)
        assert code == 0

    def row(self, i: int) -> tuple[list[int], list[int], list[Ext], list[Ext], Ext, list[int]]:
        j = (i + 1) % self.T
        return (
            [c[i] for c in self.main],
            [c[j] for c in self.main],
            [c[i] for c in self.aux],
            [c[j] for c in self.aux],
            self.rom[i],
            [c[i] for c in self.fixed],
        )

    def violations(self) -> set[tuple[str, int, int]]:
        """(kind, row, constraint) of every constraint that fails where it must hold."""
        bad = set()
        for i in range(self.T):
            for k, value in enumerate(self.air.eval_base(*self.row(i))):
                if value == (0, 0, 0):
                    continue
                if k < N_EVERY:
                    bad.add(("every", i, k))
                elif k < N_EVERY + N_TRANS:
                    if i < self.T - 1:
                        bad.add(("transition", i, k))
                elif k < N_EVERY + N_TRANS + N_FIRST:
                    if i == 0:
                        bad.add(("first", i, k))
                elif i == self.T - 1:
                    bad.add(("last", i, k))
        return bad


def library(name: str, inputs: list[int]) -> Run:
    program = programs.load(name)
    return Run(program.to_bytes(), inputs[: program.n_inputs])


@pytest.fixture(scope="module")
def stream_run() -> Run:
    return Run(sum_stream(), [4, 5, 11, P - 2, 0])


@pytest.mark.parametrize(("name", "inputs"), LIBRARY)
def test_library_programs_satisfy_air2(name: str, inputs: list[int]) -> None:
    run = library(name, inputs)
    assert run.violations() == set()


def test_memory_and_streams_satisfy_air2(stream_run: Run) -> None:
    assert stream_run.violations() == set()
    assert sum(stream_run.main[51]) == 5  # U: addresses 100..103 and 7


def test_logup_sum_closes(stream_run: Run) -> None:
    """The 25 T fractions of the trace and V add up to 0 (protocol.md 13)."""
    for run in (stream_run, library("fib", [7])):
        total = run.air.v
        for g in range(9):
            for value in run.aux[g]:
                total = ext_add(total, value)
        assert total == (0, 0, 0)
        # S is the running sum of the rows before.
        assert run.aux[9][0] == (0, 0, 0)


def test_trace_shape(stream_run: Run) -> None:
    run = stream_run
    assert run.T == 256
    assert run.main[0] == list(range(256))
    assert sum(run.main[43]) == run.T  # m_rom: every row fetches once
    # Rows after the halt repeat it: same pc, no access.
    halt = run.main[PC][run.cycles - 1]
    assert all(run.main[PC][i] == halt for i in range(run.cycles - 1, run.T))
    assert run.main[B0 : B0 + 4] and sum(run.main[45]) == 4 * run.T  # m_byte


def test_too_short_trace_is_refused() -> None:
    data = programs.load("fib").to_bytes()
    air = native.Air2(data, [300], [0], 8)
    code, _ = air.trace(10**6)
    assert code == native.TRACE_TOO_SHORT


def test_eval_ext_equals_eval_base(stream_run: Run) -> None:
    run = stream_run
    rng = random.Random(5)
    for i in [0, 1, run.cycles - 1, run.T - 1, *rng.sample(range(run.T), 5)]:
        cur, nxt, ac, an, rom, fixed = run.row(i)
        base = run.air.eval_base(cur, nxt, ac, an, rom, fixed)
        ext = run.air.eval_ext(
            [(v, 0, 0) for v in cur],
            [(v, 0, 0) for v in nxt],
            ac,
            an,
            rom,
            [(v, 0, 0) for v in fixed],
        )
        assert base == ext
    # And on random values (nothing honest about them).
    cur = [rng.randrange(P) for _ in range(56)]
    nxt = [rng.randrange(P) for _ in range(56)]
    fixed = [rng.randrange(P) for _ in range(5)]
    ac = [rand_ext(rng) for _ in range(10)]
    an = [rand_ext(rng) for _ in range(10)]
    rom = rand_ext(rng)
    emb = lambda xs: [(v, 0, 0) for v in xs]  # noqa: E731
    assert run.air.eval_base(cur, nxt, ac, an, rom, fixed) == run.air.eval_ext(
        emb(cur), emb(nxt), ac, an, rom, emb(fixed)
    )


def interpolate_at(values: list[Ext], z: Ext, log_t: int) -> Ext:
    """sum_k v_k L_k(z) over all of H, written out (no sparsity, no periodicity)."""
    n = 1 << log_t
    w = root_of_unity(log_t)
    zn = (1, 0, 0)
    for _ in range(n):
        zn = ext_mul(zn, z)
    factor = ext_mul(ext_sub(zn, (1, 0, 0)), (pow(n, P - 2, P), 0, 0))
    total = (0, 0, 0)
    wk = 1
    for v in values:
        if v != (0, 0, 0):
            lk = ext_mul(ext_mul((wk, 0, 0), factor), ext_inv(ext_sub(z, (wk, 0, 0))))
            total = ext_add(total, ext_mul(v, lk))
        wk = wk * w % P
    return total


def test_fixed_at_is_the_interpolant(stream_run: Run) -> None:
    run = stream_run
    z = rand_ext(random.Random(9))
    rom, fixed = run.air.fixed_at(z)
    assert rom == interpolate_at(run.rom, z, run.log_t)
    for c in range(5):
        assert fixed[c] == interpolate_at([(v, 0, 0) for v in run.fixed[c]], z, run.log_t)


def test_composition_at_combines_with_the_divisors(stream_run: Run) -> None:
    run = stream_run
    rng = random.Random(11)
    z = rand_ext(rng)
    cur = [rand_ext(rng) for _ in range(56)]
    nxt = [rand_ext(rng) for _ in range(56)]
    ac = [rand_ext(rng) for _ in range(10)]
    an = [rand_ext(rng) for _ in range(10)]
    alphas = [rand_ext(rng) for _ in range(N_C)]
    rom, fixed = run.air.fixed_at(z)
    values = run.air.eval_ext(cur, nxt, ac, an, rom, fixed)
    one = (1, 0, 0)
    zt = z
    for _ in range(run.log_t):
        zt = ext_mul(zt, zt)
    last = (pow(root_of_unity(run.log_t), run.T - 1, P), 0, 0)
    vanish = ext_inv(ext_sub(zt, one))
    divisors = (
        [vanish] * N_EVERY
        + [ext_mul(ext_sub(z, last), vanish)] * N_TRANS
        + [ext_inv(ext_sub(z, one))] * N_FIRST
        + [ext_inv(ext_sub(z, last))] * N_LAST
    )
    expected = (0, 0, 0)
    for a, c, d in zip(alphas, values, divisors, strict=True):
        expected = ext_add(expected, ext_mul(a, ext_mul(c, d)))
    assert run.air.composition_at(cur, nxt, ac, an, alphas, z) == expected


def first_row(run: Run, column: int, value: int) -> int:
    return next(i for i in range(run.T) if run.main[column][i] == value)


def test_changed_result_breaks_its_constraint_and_the_sum(stream_run: Run) -> None:
    run = Run(sum_stream(), [4, 5, 11, P - 2, 0])
    i = first_row(run, LIN, 1)
    run.main[VC][i] = (run.main[VC][i] + 1) % P
    run.rebuild_aux()
    bad = run.violations()
    assert ("every", i, LIN_CONSTRAINT) in bad
    assert ("last", run.T - 1, LAST_SUM) in bad


def test_changed_final_register_value_breaks_only_the_sum() -> None:
    run = library("fib", [7])
    # A register that is no output: the register table's token no longer matches.
    run.main[REG_FV][0] = (run.main[REG_FV][0] + 1) % P
    run.rebuild_aux()
    assert run.violations() == {("last", run.T - 1, LAST_SUM)}


def test_changed_pc_breaks_the_fetch_and_control_flow() -> None:
    run = library("factorial", [5])
    run.main[PC][3] = (run.main[PC][3] + 1) % P
    run.rebuild_aux()
    bad = run.violations()
    assert ("transition", 2, PC_TRANSITION) in bad
    assert ("last", run.T - 1, LAST_SUM) in bad


def test_changed_ram_address_breaks_the_gap(stream_run: Run) -> None:
    run = Run(sum_stream(), [4, 5, 11, P - 2, 0])
    run.main[RAM_A][2] += 1
    run.rebuild_aux()
    bad = run.violations()
    assert ("transition", 1, RAM_GAP) in bad
    assert ("last", run.T - 1, LAST_SUM) in bad


def test_stale_aux_breaks_its_group(stream_run: Run) -> None:
    """A main cell changed after the auxiliary columns were built: the group that holds
    the changed fraction no longer balances on that row."""
    run = Run(sum_stream(), [4, 5, 11, P - 2, 0])
    i = first_row(run, LIN, 1)
    run.main[VC][i] = (run.main[VC][i] + 1) % P  # fractions 9-10: group 3
    bad = run.violations()
    assert ("every", i, 21 + 3) in bad


def test_large_program_fits_rom_and_registers() -> None:
    """More instructions and registers than cycles: T covers the ROM and the register
    table (protocol.md 13), and the trace still satisfies AIR 2."""
    regs = [f"r{k}" for k in range(200)]
    code = [ins(12, target=299)] + [ins(1, rd=k % 200, imm=k) for k in range(1, 299)]
    code.append(ins(15))
    run = Run(format2(regs, 0, [], code), [])
    assert run.T == 512
    assert run.violations() == set()


def spec_fractions(row: list[int], rom: Ext, fixed: list[int], beta: Ext) -> list[tuple[int, Ext]]:
    """The 25 (m, v) of protocol.md 13's table, transcribed independently of air2.c."""

    def enc(tag: int, *xs: int) -> Ext:
        acc, power = (tag, 0, 0), (1, 0, 0)
        for x in xs:
            power = ext_mul(power, beta)
            acc = ext_add(acc, ext_mul(power, (x % P, 0, 0)))
        return acc

    (clk, pc, *fields) = row[:22]
    lin, mul, inv, _, _, _, _, _, load, store, read, write = fields[:12]
    imm, rd, ra, rb, e_a, e_b = (
        fields[13],
        fields[15],
        fields[16],
        fields[17],
        fields[18],
        fields[19],
    )
    v_a, pts_a, q_a, _, v_b, pts_b, q_b, _ = row[23:31]
    v_m, pv_m, pts_m, q_m, _, v_c, pv_c, pts_c, q_c, _ = row[31:41]
    ptr_in, ptr_out, m_rom, m_clk, m_byte, reg_fts, reg_fv = row[41:48]
    ram_a, ram_fts, ram_fv, ram_u = row[48:52]
    e_m, e_c = load + store, lin + mul + inv + load + read
    ts = [4 * clk + x + 1 for x in range(4)]
    addr = v_a + imm
    return [
        (-1, enc(3, pc, *fields)),
        (m_rom, ext_add(enc(3, clk), rom)),
        (-e_a, enc(1, ra, pts_a, v_a)),
        (e_a, enc(1, ra, ts[0], v_a)),
        (-e_b, enc(1, rb, pts_b, v_b)),
        (e_b, enc(1, rb, ts[1], v_b)),
        (-e_m, enc(2, addr, pts_m, pv_m)),
        (e_m, enc(2, addr, ts[2], v_m)),
        (-e_c, enc(1, rd, pts_c, pv_c)),
        (e_c, enc(1, rd, ts[3], v_c)),
        (-e_a, enc(4, q_a)),
        (-e_b, enc(4, q_b)),
        (-e_m, enc(4, q_m)),
        (-e_c, enc(4, q_c)),
        (m_clk, enc(4, clk)),
        (-read, enc(6, ptr_in, v_c)),
        (write, enc(7, ptr_out, v_a)),
        (-fixed[1], enc(1, clk, reg_fts, reg_fv)),
        (ram_u, enc(2, ram_a, 0, 0)),
        (-ram_u, enc(2, ram_a, ram_fts, ram_fv)),
        *[(-1, enc(5, b)) for b in row[52:56]],
        (m_byte, enc(5, fixed[4])),
    ]


def test_aux_columns_match_an_independent_transcription(stream_run: Run) -> None:
    run = stream_run
    rng0 = random.Random(1)  # the seed Run used: alpha first, then beta
    alpha = rand_ext(rng0)
    beta = rand_ext(rng0)
    for i in [0, 1, 2, 5, run.cycles - 1, run.T - 1]:
        cur, _, aux, _, rom, fixed = run.row(i)
        fractions = spec_fractions(cur, rom, fixed, beta)
        assert len(fractions) == 25
        for g in range(9):
            total = (0, 0, 0)
            for m, v in fractions[3 * g : 3 * g + 3]:
                total = ext_add(total, ext_mul((m % P, 0, 0), ext_inv(ext_sub(alpha, v))))
            assert aux[g] == total, (i, g)
    # rom[k] is the fetch tuple without tag and pc: sum_{i=1}^{20} beta^(i+1) field_i.
    for i in range(run.cycles):
        k = run.main[PC][i]
        expected, power = (0, 0, 0), beta
        for field in range(20):
            power = ext_mul(power, beta)
            expected = ext_add(expected, ext_mul(power, (run.main[2 + field][i], 0, 0)))
        assert run.rom[k] == expected


def test_decoded_fields_follow_the_table(stream_run: Run) -> None:
    """Rows of sum_stream: store [i + 100], x (pc 2), sub y, i, n (pc 4), subi-free load
    (pc 8), write x (pc 11), read x (pc 1)."""
    run = stream_run
    names = "lin mul inv assert jmp jz jnz halt load store read write sgn imm target rd ra rb eA eB"
    fields = names.split()

    def decoded(pc: int) -> dict[str, int]:
        i = first_row(run, PC, pc)
        return {name: run.main[2 + j][i] for j, name in enumerate(fields) if run.main[2 + j][i]}

    assert decoded(2) == {"store": 1, "imm": 100, "ra": 1, "rb": 3, "eA": 1, "eB": 1}
    assert decoded(4) == {"lin": 1, "sgn": P - 1, "rd": 4, "ra": 1, "eA": 1, "eB": 1}
    assert decoded(8) == {"load": 1, "imm": 100, "rd": 3, "ra": 1, "eA": 1}
    assert decoded(11) == {"write": 1, "ra": 3, "eA": 1}
    assert decoded(1) == {"read": 1, "rd": 3}
    assert decoded(15) == {"load": 1, "imm": 100, "rd": 4}
    assert decoded(5) == {"jnz": 1, "target": 1, "ra": 4, "eA": 1}


@pytest.mark.parametrize(("name", "inputs"), LIBRARY[:3])
def test_native_trace_and_aux_equal_the_reference(name: str, inputs: list[int]) -> None:
    """Two independent implementations of protocol.md 13 (ext/air2.c and
    zkactors.zkvm.reference.air2) build the same main and auxiliary columns."""
    from zkactors.zkvm.reference import air2 as ref
    from zkactors.zkvm.reference.field import Ext as RefExt

    program = programs.load(name)
    run = library(name, inputs)
    reference = ref.main_trace(program, inputs[: program.n_inputs], length=run.T)
    assert reference.columns == run.main
    rng = random.Random(1)
    alpha, beta = rand_ext(rng), rand_ext(rng)
    st = ref.Statement(program, tuple(inputs[: program.n_inputs]), reference.outputs, run.T)
    ch = ref.Challenges.of(RefExt(*alpha), RefExt(*beta))
    aux = ref.aux_columns(st, ch, reference.columns)
    assert [[(e.c0, e.c1, e.c2) for e in col] for col in aux] == run.aux
    v = ref.verifier_sum(st, ch)
    assert (v.c0, v.c1, v.c2) == run.air.v


MACHINE_PROGRAMS = [
    (
        ".input n\n.output s\nloop: jz n, done\nread x\nstore [n + 100], x\nadd s, s, x\n"
        "write s\nsubi n, n, 1\njmp loop\ndone: load t, [101]\nstore [4294967295], t\n"
        "load u, [n + 4294967295]\nwrite u\nhalt",
        [3, 4, 5, 6],
    ),
    (
        ".input a, v\n.output x, y, x\nload x, [a + 3]\nstore [a + 3], v\nload y, [a + 3]\nhalt",
        [0, 7],
    ),
    (".input a\n.output a\nadd a, a, a\nstore [a], a\nstore [a], a\nload a, [a]\nhalt", [5]),
]


@pytest.mark.parametrize(("source", "inputs"), MACHINE_PROGRAMS)
def test_machine_programs_satisfy_air2_as_the_reference(source: str, inputs: list[int]) -> None:
    from zkactors.zkvm.assembler import assemble
    from zkactors.zkvm.reference import air2 as ref
    from zkactors.zkvm.reference.field import Ext as RefExt

    program = assemble(source)
    run = Run(program.to_bytes(), inputs)
    assert run.violations() == set()
    reference = ref.main_trace(program, inputs, length=run.T)
    assert reference.columns == run.main
    rng = random.Random(1)
    alpha, beta = rand_ext(rng), rand_ext(rng)
    st = ref.Statement(program, tuple(inputs), reference.outputs, run.T)
    ch = ref.Challenges.of(RefExt(*alpha), RefExt(*beta))
    aux = ref.aux_columns(st, ch, reference.columns)
    assert [[(e.c0, e.c1, e.c2) for e in col] for col in aux] == run.aux
    total = run.air.v
    for g in range(9):
        for value in run.aux[g]:
            total = ext_add(total, value)
    assert total == (0, 0, 0)


def test_aux_columns_are_the_same_on_any_thread_count() -> None:
    run = library("fib", [300])
    assert run.T >= 1024  # four chunks of 256 rows or more
    for threads in (2, 3):
        code, aux = run.air.aux_columns(run.main, threads)
        assert code == 0 and aux == run.aux


@pytest.mark.parametrize(
    ("name", "inputs"),
    [
        ("dot_product", [3, P - 1, P - 1, 0, P - 1, 2, 5]),
        ("sum_array", [5, 0, 1, 2, 3, 4]),
        ("matvec", [2, 1, 2, 3, 4, 5, 6]),
        ("poly_eval", [3, 1, 2, 3, 7]),
    ],
)
def test_library_machine_programs(name: str, inputs: list[int]) -> None:
    """The library's programs with memory and streams: AIR 2 holds on the native trace,
    which is the reference AIR's."""
    from zkactors.zkvm import interpreter
    from zkactors.zkvm.reference import air2 as ref

    program = programs.load(name)
    interpreter.run(program, inputs)  # a valid statement
    run = Run(program.to_bytes(), inputs)
    assert run.violations() == set()
    assert ref.main_trace(program, inputs, length=run.T).columns == run.main


def test_a_program_without_registers() -> None:
    from zkactors.zkvm.assembler import assemble

    run = Run(assemble("jmp end\nend: halt").to_bytes(), [])
    assert run.violations() == set()
    assert run.main[46] == [0] * run.T  # an empty register table


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_aux_columns_of_a_perturbed_trace_equal_the_reference(seed: int) -> None:
    """The native auxiliary columns skip zero multiplicities and look inverses up in
    tables (fetch tuples, range values, bytes) only when a row's tuple is a table entry:
    on a trace with random cells (changed fields, clk, multiplicities, small and large
    range and byte values) they still equal the plain sum of the reference."""
    from zkactors.zkvm.reference import air2 as ref
    from zkactors.zkvm.reference.field import Ext as RefExt

    program = programs.load("factorial")
    inputs = [5]
    run = library("factorial", inputs)
    reference = ref.main_trace(program, inputs[: program.n_inputs], length=run.T)
    rng = random.Random(seed)
    cols = [list(col) for col in run.main]
    for _ in range(run.T * 4):
        c, i = rng.randrange(len(cols)), rng.randrange(run.T)
        kind = rng.randrange(5)
        cols[c][i] = [0, 1, P - 1, rng.randrange(2 * run.T), rng.randrange(P)][kind]
    code, aux = run.air.aux_columns([array("Q", col) for col in cols], 2)
    assert code == 0
    r0 = random.Random(1)  # Run's challenges: alpha, then beta
    alpha, beta = rand_ext(r0), rand_ext(r0)
    st = ref.Statement(program, tuple(inputs[: program.n_inputs]), reference.outputs, run.T)
    ch = ref.Challenges.of(RefExt(*alpha), RefExt(*beta))
    expected = ref.aux_columns(st, ch, cols)
    assert [[(e.c0, e.c1, e.c2) for e in col] for col in expected] == aux
