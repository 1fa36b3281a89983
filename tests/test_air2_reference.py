"""AIR 2 (protocol.md 13–14), the reference in zkactors.zkvm.reference.air2: honest traces
satisfy every constraint on every row, the LogUp fractions and V sum to zero, and the
fixed columns at z equal their interpolants."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from machine_programs import ALL_OPS_INPUTS, ALL_OPS_SOURCE, MACHINE_INPUTS, MACHINE_SOURCE
from oracle_prover import horner_at_ext, interpolate, machine_violations
from zkvm_strategies import programs_with_inputs

from zkactors import programs
from zkactors.errors import ExecutionError
from zkactors.zkvm import interpreter
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.reference import air2
from zkactors.zkvm.reference.field import Ext, P

ALPHA = Ext(12345, 678, 91011)
BETA = Ext(31337, 4242, 777)


def statement_of(program, inputs, trace):
    return air2.Statement(program, tuple(inputs), trace.outputs, len(trace.columns[0]))


def violations(st, columns, ch=None, aux=None):
    ch = ch or air2.Challenges.of(ALPHA, BETA)
    return machine_violations(st, columns, ch.alpha, ch.beta)


def test_counts():
    assert air2.N_CONSTRAINTS == len(air2.KINDS) == 47
    assert len(air2.FIELD_NAMES) == 20
    assert air2.B0 + 4 == air2.WIDTH


@pytest.mark.parametrize(
    ("source", "inputs"),
    [
        (ALL_OPS_SOURCE, ALL_OPS_INPUTS),
        (programs.source("fib"), (5,)),
        (programs.source("inverse_check"), (7,)),
    ],
)
def test_honest_trace_satisfies_every_constraint(source, inputs):
    program = assemble(source)
    trace = air2.main_trace(program, inputs)
    outputs, cycles = interpreter.run(program, inputs)
    assert trace.outputs == outputs and trace.cycles == cycles
    assert len(trace.columns) == air2.WIDTH and len(trace.columns[0]) == 256
    st = statement_of(program, inputs, trace)
    ch = air2.Challenges.of(ALPHA, BETA)
    aux = air2.aux_columns(st, ch, trace.columns)
    assert violations(st, trace.columns, ch, aux) == set()
    # The 25·T fractions and V add up to 0: S at the last row plus its row's A_g, plus V.
    t = st.trace_length
    total = aux[9][t - 1] + sum((aux[g][t - 1] for g in range(9)), Ext(0))
    assert total + air2.verifier_sum(st, ch) == Ext(0)


def test_canonical_values_of_a_row():
    program = assemble(ALL_OPS_SOURCE)
    cols = air2.main_trace(program, ALL_OPS_INPUTS).columns
    row = [c[3] for c in cols]  # cycle 3: add c, a, b (a = 5, b = x = 3)
    assert row[air2.PC] == 3 and row[air2.LIN] == 1 and row[air2.SGN] == 1
    assert (row[air2.VA], row[air2.VB], row[air2.VC]) == (5, 3, 8)
    # a was written at cycle 0 by port C (ts 4), read now by port A at ts 13: d = 8
    assert (row[air2.PTSA], row[air2.QA], row[air2.RA_]) == (4, 2, 0)
    assert row[air2.PVC] == 0 and row[air2.PTSC] == 0  # c never accessed before
    halt = [c[255] for c in cols]
    assert halt[air2.HALT_] == 1 and halt[air2.CLK] == 255
    assert all(halt[c] == 0 for c in range(air2.H, air2.PTR_IN))


def test_decode_table():
    program = assemble(".input x\n.output y\nsubi y, x, 5\nsub y, y, x\nhalt\n")
    subi, sub, halt = (air2.decode(ins) for ins in program.instructions)
    names = air2.FIELD_NAMES
    assert dict(zip(names, subi, strict=True))["imm"] == P - 5
    assert dict(zip(names, sub, strict=True))["sgn"] == P - 1
    assert dict(zip(names, halt, strict=True)) == {n: int(n == "halt") for n in names}


def test_errors_are_the_interpreters():
    program = programs.load("inverse_check")
    with pytest.raises(ExecutionError) as ours:
        air2.main_trace(program, (0,))
    with pytest.raises(ExecutionError) as theirs:
        interpreter.run(program, (0,))
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("log_t", [8, 9])
def test_fixed_columns_at_z_are_their_interpolants(log_t):
    program = assemble(ALL_OPS_SOURCE)
    trace = air2.main_trace(program, ALL_OPS_INPUTS, length=1 << log_t)
    st = statement_of(program, ALL_OPS_INPUTS, trace)
    ch = air2.Challenges.of(ALPHA, BETA)
    rom, fixed = air2.fixed_columns(st, ch)
    rng = random.Random(log_t)
    z = Ext(rng.randrange(P), rng.randrange(P), rng.randrange(P))
    zt = (z.c0, z.c1, z.c2)
    rom_z, fixed_z = air2.fixed_at(st, ch, z)
    planes = [interpolate([getattr(v, c) for v in rom]) for c in ("c0", "c1", "c2")]
    expected_rom = Ext(0)
    for c, plane in enumerate(planes):
        value = Ext(*horner_at_ext(plane, zt)) * Ext(0, 1, 0) ** c
        expected_rom = expected_rom + value
    assert rom_z == expected_rom
    for column, at_z in zip(fixed, fixed_z, strict=True):
        assert at_z == Ext(*horner_at_ext(interpolate(column), zt))


#: Stream inputs of the library's programs that read them (n, then the values).
STREAMS = {
    "dot_product": (2, 1, 2, 3, 4),
    "sum_array": (3, 1, 2, 3),
    "matvec": (2, 1, 2, 3, 4, 5, 6),
    "poly_eval": (3, 1, 2, 3, 10),
}


@pytest.mark.parametrize("name", programs.names())
def test_every_library_program(name):
    program = programs.load(name)
    inputs = tuple(range(3, 3 + program.n_inputs)) + STREAMS.get(name, ())
    trace = air2.main_trace(program, inputs)
    assert trace.outputs == interpreter.run(program, inputs)[0]
    assert violations(statement_of(program, inputs, trace), trace.columns) == set()


@settings(max_examples=10, deadline=None)
@given(programs_with_inputs(failing=True))
def test_random_programs(case):
    """On random v1 programs AIR 2's run agrees with the interpreter (outputs, cycles or
    the same error) and its trace satisfies every constraint."""
    program, inputs = case
    try:
        expected = interpreter.run(program, inputs)
    except ExecutionError as exc:
        with pytest.raises(ExecutionError) as ours:
            air2.main_trace(program, inputs)
        assert str(ours.value) == str(exc)
        return
    trace = air2.main_trace(program, inputs)
    assert (trace.outputs, trace.cycles) == expected
    assert violations(statement_of(program, inputs, trace), trace.columns) == set()


def test_a_program_with_memory_and_streams():
    program = assemble(MACHINE_SOURCE)
    assert program.format == 2 and not program.fits_register_air
    trace = air2.main_trace(program, MACHINE_INPUTS)
    assert trace.outputs == interpreter.run(program, MACHINE_INPUTS)[0] == (13, 13, 0, 20)
    cols = trace.columns
    # the RAM table: addresses 5, 7, 100 ascending, with their last timestamps and values
    assert cols[air2.RAM_A][:4] == [5, 7, 100, 0] and cols[air2.RAM_U][:4] == [1, 1, 1, 0]
    assert cols[air2.RAM_FV][:3] == [10, 3, 0]
    # L on rows 0..3: 5, 7 − 5 − 1, 100 − 7 − 1, 2^32 − 1 − 100
    limbs = [sum(cols[air2.B0 + b][j] << (8 * b) for b in range(4)) for j in range(4)]
    assert limbs == [5, 1, 92, 2**32 - 101]
    st = statement_of(program, MACHINE_INPUTS, trace)
    assert st.stream_inputs == (10, 20) and st.stream_outputs == (13, 0, 20)
    assert violations(st, cols) == set()
    ch = air2.Challenges.of(ALPHA, BETA)
    aux = air2.aux_columns(st, ch, cols)
    t = st.trace_length
    total = aux[9][t - 1] + sum((aux[g][t - 1] for g in range(9)), Ext(0))
    assert total + air2.verifier_sum(st, ch) == Ext(0)


def test_long_programs_get_a_longer_trace():
    body = "\n".join("addi x, x, 1" for _ in range(300))
    program = assemble(f".input x\n.output x\n{body}\nhalt\n")
    assert air2.min_trace_length(program) == 512
    trace = air2.main_trace(program, (0,))
    assert trace.outputs == (300,) and len(trace.columns[0]) == 512
    st = statement_of(program, (0,), trace)
    assert violations(st, trace.columns) == set()
