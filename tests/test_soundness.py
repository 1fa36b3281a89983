"""Soundness: receipts that do not prove their statement are rejected, by BOTH verifiers,
for the same reason.

Four families, each checked on every verifier path (native on bytes, native on a decoded
``Receipt``, the reference verifier on both; see ``verifier_agreement``):

1. round trip: honest receipts of random programs verify and survive to_bytes/from_bytes;
2. tampering: any changed, cut or added byte of a real receipt, changed statements,
   another program, another profile;
3. forged traces: the prover run honestly on a trace that breaks the AIR (through the
   native prover's test hook and through the pure-Python oracle prover), covering every
   constraint kind of protocol.md 5, every instruction kind, both branch kinds in both
   directions and every boundary kind; plus the oracle's one-step cheats, which get past
   the earlier checks and must be caught by the DEEP/FRI ones;
4. agreement: in all of the above the verifiers agree on the verdict and on the name of
   the first failed check (the order of checks is specified by the reference verifier).

A forged trace is only a meaningful test if it really violates the constraint it aims
at, so each one is first checked against the oracle's independent constraint evaluator
(``oracle_prover.violated_kinds``).

Most cases use the ``test`` profile and programs of a few dozen cycles; a few use
``default``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
import oracle_prover
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from machine_programs import ALL_OPS_INPUTS, ALL_OPS_SOURCE
from verifier_agreement import (
    agreed_verdict,
    assert_accepted,
    assert_rejected,
    native_verdict,
)
from zkvm_strategies import fits_register_air, programs_with_inputs

import zkactors
from zkactors import programs
from zkactors.errors import ExecutionError
from zkactors.zkvm import interpreter
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.isa import Op, P
from zkactors.zkvm.program import Program
from zkactors.zkvm.prover import _prove_with_trace
from zkactors.zkvm.receipt import Receipt

# The register AIR's instructions (instruction set v1; v2 is AIR 2's).
V1_OPS = {op for op in Op if op.is_v1}

# Constraint kinds, numbered as in protocol.md 5.
REGISTER_UPDATE, SELECTOR_SUCCESSION, BRANCH_HELPER, INSTRUCTION_CHECK = 1, 2, 3, 4
FIRST_SELECTORS, FIRST_REGISTERS, LAST_HALT, LAST_OUTPUTS = 5, 6, 7, 8


@pytest.fixture(scope="module")
def all_ops() -> Program:
    program = assemble(ALL_OPS_SOURCE)
    assert {ins.op for ins in program.instructions} == V1_OPS
    return program


# ---------------------------------------------------------------- forging machinery


@attrs.frozen
class Forgery:
    """A trace and the public statement claimed for it."""

    name: str
    program: Program
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    columns: list[list[int]]
    kinds: frozenset[int]  # constraint kinds it must violate
    op: Op | None = None  # the instruction kind it attacks, if any


def _alu(op: Op, a: int, b: int, imm: int) -> int:
    return {
        Op.SET: imm,
        Op.MOV: a,
        Op.ADD: (a + b) % P,
        Op.SUB: (a - b) % P,
        Op.MUL: a * b % P,
        Op.ADDI: (a + imm) % P,
        Op.SUBI: (a - imm) % P,
        Op.MULI: a * imm % P,
        Op.INV: pow(a, P - 2, P),
    }[op]


def states_of(
    program: Program,
    inputs: Sequence[int],
    *,
    start_pc: int = 0,
    initial: Sequence[int] | None = None,
    next_pc: dict[int, int] | None = None,
    write: dict[int, int] | None = None,
    max_cycles: int = 10_000,
) -> list[tuple[int, list[int]]]:
    """(pc, registers) at the start of each cycle of a possibly *wrong* machine, up to and
    including the halt it stops at (or ``max_cycles`` of them). Assertions are not
    enforced; ``next_pc[c]`` overrides the successor of cycle c (also out of a halt),
    ``write[c]`` the value cycle c writes."""
    code = program.instructions
    next_pc = next_pc or {}
    write = write or {}
    regs = (
        list(initial)
        if initial is not None
        else (list(inputs) + [0] * (len(program.registers) - program.n_inputs))
    )
    pc = start_pc
    states: list[tuple[int, list[int]]] = []
    for cycle in range(max_cycles):
        states.append((pc, list(regs)))
        ins = code[pc]
        a = regs[ins.ra] if regs else 0
        b = regs[ins.rb] if regs else 0
        successor = pc + 1
        if ins.op is Op.HALT:
            successor = pc
        elif ins.op is Op.JMP:
            successor = ins.target
        elif ins.op in (Op.JZ, Op.JNZ):
            successor = ins.target if (a == 0) == (ins.op is Op.JZ) else pc + 1
        elif ins.op.writes:
            regs[ins.rd] = write[cycle] if cycle in write else _alu(ins.op, a, b, ins.imm)
        if cycle in next_pc:
            successor = next_pc[cycle]
        elif ins.op is Op.HALT:
            return states
        pc = successor
    return states  # a forged run need not halt; its trace then ends on a non-halt row


def columns_of(
    program: Program, states: Sequence[tuple[int, list[int]]], rows: int | None = None
) -> list[list[int]]:
    """The trace of protocol.md 4 for these states (padded by repeating the last one, or
    cut, to ``rows``); branch helpers are computed honestly from the registers."""
    if rows is None:
        rows = interpreter.trace_length(len(states))
    padded = (list(states) + [states[-1]] * rows)[:rows]
    n_reg = len(program.registers)
    columns = [[regs[r] for _, regs in padded] for r in range(n_reg)]
    columns += [[int(pc == k) for pc, _ in padded] for k in range(len(program.instructions))]
    for k in program.branch_indices:
        tested = columns[program.instructions[k].ra]
        columns.append([pow(v, P - 2, P) if v else 0 for v in tested])
    return columns


def cycles_running(program: Program, states: Sequence[tuple[int, list[int]]], op: Op) -> list[int]:
    return [c for c, (pc, _) in enumerate(states) if program.instructions[pc].op is op]


def forge(
    name: str,
    program: Program,
    inputs: Sequence[int],
    columns: list[list[int]],
    kinds: set[int],
    *,
    claimed_inputs: Sequence[int] | None = None,
    outputs: Sequence[int] | None = None,
    op: Op | None = None,
) -> Forgery:
    claimed = tuple(inputs if claimed_inputs is None else claimed_inputs)
    outs = tuple(oracle_prover.outputs_of(program, columns) if outputs is None else outputs)
    return Forgery(name, program, claimed, outs, columns, frozenset(kinds), op)


def all_forgeries(program: Program) -> list[Forgery]:
    """Forged traces of the all-ops program, one per attack."""
    inputs = ALL_OPS_INPUTS
    honest = states_of(program, inputs)
    code = program.instructions
    out: list[Forgery] = []

    # A wrong value written by each writing instruction kind.
    for op in (Op.SET, Op.MOV, Op.ADD, Op.SUB, Op.MUL, Op.ADDI, Op.SUBI, Op.MULI):
        cycle = cycles_running(program, honest, op)[0]
        reg = code[honest[cycle][0]].rd
        wrong = (honest[cycle + 1][1][reg] + 1) % P
        states = states_of(program, inputs, write={cycle: wrong})
        out.append(
            forge(
                f"wrong {op.mnemonic}",
                program,
                inputs,
                columns_of(program, states),
                {REGISTER_UPDATE},
                op=op,
            )
        )
    cycle = cycles_running(program, honest, Op.INV)[0]
    states = states_of(program, inputs, write={cycle: 12345})
    out.append(
        forge(
            "wrong inverse",
            program,
            inputs,
            columns_of(program, states),
            {INSTRUCTION_CHECK},
            op=Op.INV,
        )
    )

    # Control flow: jmp not taken, each branch the wrong way in each direction, a
    # skipped instruction, a halt that moves on.
    cycle = cycles_running(program, honest, Op.JMP)[0]
    states = states_of(program, inputs, next_pc={cycle: honest[cycle][0] + 1})
    out.append(
        forge(
            "jmp falls through",
            program,
            inputs,
            columns_of(program, states),
            {SELECTOR_SUCCESSION},
            op=Op.JMP,
        )
    )
    for op in (Op.JZ, Op.JNZ):
        for cycle in cycles_running(program, honest, op):
            pc = honest[cycle][0]
            taken = honest[cycle + 1][0] == code[pc].target
            wrong = pc + 1 if taken else code[pc].target
            states = states_of(program, inputs, next_pc={cycle: wrong}, max_cycles=len(honest) + 4)
            way = "taken" if taken else "not taken"
            out.append(
                forge(
                    f"{op.mnemonic} {way} goes the other way",
                    program,
                    inputs,
                    columns_of(program, states),
                    {SELECTOR_SUCCESSION},
                    op=op,
                )
            )
    for op in (Op.ADD, Op.INV, Op.ASSERT_ZERO):
        cycle = cycles_running(program, honest, op)[0]
        pc = honest[cycle][0]
        states = states_of(program, inputs, next_pc={cycle: pc + 2})
        out.append(
            forge(
                f"instruction after {op.mnemonic} skipped",
                program,
                inputs,
                columns_of(program, states),
                {SELECTOR_SUCCESSION},
            )
        )
    halt_cycle = len(honest) - 1
    rows = interpreter.trace_length(len(honest))
    states = states_of(program, inputs, next_pc={halt_cycle: 0})[: rows - 1]
    states.append(honest[-1])  # ... and ends on the halt row again
    out.append(
        forge(
            "halt moves on",
            program,
            inputs,
            columns_of(program, states, rows),
            {SELECTOR_SUCCESSION},
            op=Op.HALT,
        )
    )
    columns = columns_of(program, honest)
    d = program.registers.index("d")  # not an output
    columns[d][-1] = (columns[d][-1] + 1) % P
    out.append(
        forge(
            "a register changes after halt", program, inputs, columns, {REGISTER_UPDATE}, op=Op.HALT
        )
    )

    # Cells edited in an honest trace.
    mid = len(honest) // 2
    columns = columns_of(program, honest)
    e = program.registers.index("e")
    columns[e][mid] = (columns[e][mid] + 7) % P
    out.append(
        forge("register cell changed mid-trace", program, inputs, columns, {REGISTER_UPDATE})
    )
    columns = columns_of(program, honest)
    n_reg = len(program.registers)
    running = honest[mid][0]
    other = (running + 3) % len(code)
    columns[n_reg + other][mid] = 1
    out.append(
        forge("two selectors set in one row", program, inputs, columns, {SELECTOR_SUCCESSION})
    )
    columns = columns_of(program, honest)
    columns[n_reg + running][mid] = 0
    out.append(forge("no selector set in a row", program, inputs, columns, {SELECTOR_SUCCESSION}))
    columns = columns_of(program, honest)
    helper = n_reg + len(code)  # the helper of the first branch (jz n)
    row = next(i for i, (pc, regs) in enumerate(honest) if regs[1] != 0 and pc != 2)
    columns[helper][row] = (columns[helper][row] + 1) % P
    out.append(forge("branch helper is not the inverse", program, inputs, columns, {BRANCH_HELPER}))

    # Boundaries.
    states = states_of(program, inputs, start_pc=1)
    out.append(
        forge(
            "execution starts at pc 1",
            program,
            inputs,
            columns_of(program, states),
            {FIRST_SELECTORS},
        )
    )
    initial = [*inputs, 0, 0, 0, 9, 0, 0, 0]
    assert len(initial) == n_reg
    states = states_of(program, inputs, initial=initial)
    out.append(
        forge(
            "a non-input register starts nonzero",
            program,
            inputs,
            columns_of(program, states),
            {FIRST_REGISTERS},
        )
    )
    claimed = (inputs[0] + 1, inputs[1])
    out.append(
        forge(
            "the claimed inputs are not the trace's",
            program,
            inputs,
            columns_of(program, honest),
            {FIRST_REGISTERS},
            claimed_inputs=claimed,
        )
    )
    out.append(
        forge(
            "the final row has not halted",
            program,
            inputs,
            columns_of(program, honest, rows=16),
            {LAST_HALT},
        )
    )
    real = oracle_prover.outputs_of(program, columns_of(program, honest))
    out.append(
        forge(
            "the claimed outputs are not the trace's",
            program,
            inputs,
            columns_of(program, honest),
            {LAST_OUTPUTS},
            outputs=(real[0], (real[1] + 1) % P, real[2]),
        )
    )
    return out


def assertion_forgeries() -> list[Forgery]:
    """Failing assertions, and inv of zero, executed anyway."""
    az = assemble(".input x\n.output x\nassert_zero x\nhalt\n")
    aeq = assemble(".input x, y\n.output x\nassert_eq x, y\nhalt\n")
    inv0 = assemble(".input x\n.output y\ninv y, x\nhalt\n")
    return [
        forge(
            "assert_zero of 1",
            az,
            (1,),
            columns_of(az, states_of(az, (1,))),
            {INSTRUCTION_CHECK},
            op=Op.ASSERT_ZERO,
        ),
        forge(
            "assert_eq of 3, 4",
            aeq,
            (3, 4),
            columns_of(aeq, states_of(aeq, (3, 4))),
            {INSTRUCTION_CHECK},
            op=Op.ASSERT_EQ,
        ),
        forge(
            "inv of 0",
            inv0,
            (0,),
            columns_of(inv0, states_of(inv0, (0,), write={0: 0})),
            {INSTRUCTION_CHECK},
            op=Op.INV,
        ),
    ]


def _check_forgery_is_real(f: Forgery) -> None:
    violated = oracle_prover.violated_kinds(f.program, f.columns, f.inputs, f.outputs)
    assert f.kinds <= violated, f"{f.name}: meant to break {set(f.kinds)}, breaks {violated}"


def _native_forged_receipt(f: Forgery, profile: str = "test") -> bytes:
    return _prove_with_trace(f.program, f.inputs, f.outputs, f.columns, profile=profile)


# ---------------------------------------------------------------- 1. round trip


@given(programs_with_inputs(failing=True).filter(fits_register_air))  # AIR 1's
def test_random_programs_round_trip_and_verify(case: tuple[Program, list[int]]) -> None:
    program, inputs = case
    try:
        receipt = zkactors.prove(program, inputs, profile="test")
    except ExecutionError:
        assume(False)
        return
    assert Receipt.from_bytes(receipt.to_bytes()) == receipt
    outputs, cycles = interpreter.run(program, inputs)
    assert receipt.outputs == outputs
    assert receipt.trace_length == interpreter.trace_length(cycles)
    assert_accepted(receipt.to_bytes(), program)


@settings(max_examples=5)
@given(programs_with_inputs(failing=False).filter(fits_register_air))  # AIR 1's
def test_random_programs_native_prover_matches_oracle(case: tuple[Program, list[int]]) -> None:
    """The receipts the verifiers accept above are the protocol's: byte for byte what the
    independent oracle prover makes."""
    program, inputs = case
    receipt = zkactors.prove(program, inputs, profile="test")
    assume(receipt.trace_length <= 32)
    assert oracle_prover.prove(program, inputs, profile="test") == receipt.to_bytes()


def test_default_profile_round_trip(all_ops: Program) -> None:
    receipt = zkactors.prove(all_ops, list(ALL_OPS_INPUTS), profile="default")
    assert Receipt.from_bytes(receipt.to_bytes()) == receipt
    assert_accepted(receipt.to_bytes(), all_ops)


# ---------------------------------------------------------------- 2. tampering


@pytest.fixture(scope="module")
def test_receipt(all_ops: Program) -> bytes:
    return zkactors.prove(all_ops, list(ALL_OPS_INPUTS), profile="test").to_bytes()


@pytest.fixture(scope="module")
def default_receipt() -> bytes:
    return zkactors.prove(programs.load("fib"), [9], profile="default").to_bytes()


def _flip(data: bytes, at: int, mask: int = 0x01) -> bytes:
    return data[:at] + bytes([data[at] ^ mask]) + data[at + 1 :]


def test_every_single_bit_flip_is_rejected_natively(test_receipt: bytes, all_ops: Program) -> None:
    """Exhaustive over the receipt's bytes (bit ``at mod 8`` of byte ``at``, so every bit
    position is hit), native paths only: cheap."""
    for at in range(len(test_receipt)):
        changed = _flip(test_receipt, at, 1 << (at % 8))
        assert agreed_verdict(changed, all_ops, reference_too=False), at


def test_sampled_bit_flips_agree_with_the_reference(test_receipt: bytes, all_ops: Program) -> None:
    for at in range(0, len(test_receipt), 41):
        assert_rejected(_flip(test_receipt, at, 0x10), all_ops)


@given(data=st.data())
def test_random_byte_changes_are_rejected(
    test_receipt: bytes, all_ops: Program, data: st.DataObject
) -> None:
    at = data.draw(st.integers(0, len(test_receipt) - 1), label="offset")
    value = data.draw(st.integers(0, 255).filter(lambda v: v != test_receipt[at]), label="byte")
    assert_rejected(test_receipt[:at] + bytes([value]) + test_receipt[at + 1 :], all_ops)


@settings(max_examples=10)
@given(data=st.data())
def test_random_byte_changes_default_profile(default_receipt: bytes, data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(default_receipt) - 1), label="offset")
    assert_rejected(_flip(default_receipt, at, 0x04), programs.load("fib"))


# Which check must catch a changed element of each section (a canonical change, so the
# decoder is not what notices).
EXPECTED_CHECK = {
    "inputs": "ood",
    "outputs": "ood",
    "ood frame": "ood",
    "trace rows": "trace_merkle",
    "composition rows": "composition_merkle",
    "fri layer 0 leaves": "fri_merkle",
    "fri layer 1 leaves": "fri_merkle",
    "trace multiproof": "trace_merkle",
    "composition multiproof": "composition_merkle",
    "fri layer 0 multiproof": "fri_merkle",
    "fri layer 1 multiproof": "fri_merkle",
    "program hash": "statement",
}


def test_every_section_change_is_caught_by_its_check(test_receipt: bytes, all_ops: Program) -> None:
    sections = oracle_prover.layout(test_receipt)
    assert {"fri layer 1 leaves", "remainder", "nonce"} <= {s.name for s in sections}
    for section in sections:
        if not section.length:
            continue
        for at in {section.offset, section.offset + section.length - 1}:
            if section.kind in ("base", "ext"):
                element = section.offset + (at - section.offset) // 8 * 8
                changed = oracle_prover.bump_element(test_receipt, element)
            else:
                changed = _flip(test_receipt, at)
            check = assert_rejected(changed, all_ops)
            expected = EXPECTED_CHECK.get(section.name)
            assert expected is None or check == expected, (section.name, check)


def test_nonce_change_fails_grinding_under_default(default_receipt: bytes) -> None:
    nonce = oracle_prover.section(default_receipt, "nonce")
    for bit in range(8):
        changed = _flip(default_receipt, nonce.offset, 1 << bit)
        assert assert_rejected(changed, programs.load("fib")) == "grinding"


def test_truncations_and_extensions_are_rejected(test_receipt: bytes, all_ops: Program) -> None:
    for length in range(len(test_receipt)):
        assert native_verdict(test_receipt[:length], all_ops) == "format"
    for length in (0, 3, 6, 100, len(test_receipt) // 2, len(test_receipt) - 1):
        assert assert_rejected(test_receipt[:length], all_ops) == "format"
    for extra in (b"\x00", bytes(32), test_receipt[-40:]):
        assert assert_rejected(test_receipt + extra, all_ops) == "format"


@pytest.mark.parametrize(
    "change",
    [
        lambda r: attrs.evolve(r, outputs=((r.outputs[0] + 1) % P, *r.outputs[1:])),
        lambda r: attrs.evolve(r, outputs=(r.outputs[1], r.outputs[0], r.outputs[2])),
        lambda r: attrs.evolve(r, inputs=(r.inputs[0], r.inputs[1] + 1)),
        lambda r: attrs.evolve(r, inputs=(r.inputs[0] + 1, r.inputs[1])),
        lambda r: attrs.evolve(r, trace_length=r.trace_length * 2),
        lambda r: attrs.evolve(r, trace_length=r.trace_length // 2),
        lambda r: attrs.evolve(r, trace_width=r.trace_width + 1),
        lambda r: attrs.evolve(r, profile="default"),
        lambda r: attrs.evolve(r, profile="high"),
    ],
    ids=[
        "output+1",
        "outputs-swapped",
        "input+1",
        "other-input+1",
        "T*2",
        "T/2",
        "w+1",
        "profile-default",
        "profile-high",
    ],
)
def test_changed_statement_is_rejected(
    test_receipt: bytes, all_ops: Program, change: Callable[[Receipt], Receipt]
) -> None:
    changed = change(Receipt.from_bytes(test_receipt)).to_bytes()
    assert_rejected(changed, all_ops)


def test_default_receipt_claimed_under_high_profile(default_receipt: bytes) -> None:
    """default and high share B, f and the remainder size, so the relabelled bytes even
    decode; the profile is in the transcript, so the proof must still fail."""
    changed = attrs.evolve(Receipt.from_bytes(default_receipt), profile="high").to_bytes()
    assert Receipt.from_bytes(changed).profile == "high"
    assert assert_rejected(changed, programs.load("fib")) not in ("format", "statement")


def test_another_program_of_the_same_shape(test_receipt: bytes, all_ops: Program) -> None:
    twin = assemble(ALL_OPS_SOURCE.replace("set  a, 5", "set  a, 6"))
    assert twin.trace_width == all_ops.trace_width and twin.hash != all_ops.hash
    assert assert_rejected(test_receipt, twin) == "statement"
    relabelled = attrs.evolve(Receipt.from_bytes(test_receipt), program_hash=twin.hash)
    assert assert_rejected(relabelled.to_bytes(), twin) not in ("format", "statement")
    # and the twin's own honest receipt for the same inputs is fine
    assert_accepted(zkactors.prove(twin, list(ALL_OPS_INPUTS), profile="test").to_bytes(), twin)


def test_receipt_of_other_inputs_spliced(all_ops: Program) -> None:
    """Two honest receipts of one program: one's proof under the other's statement."""
    one = Receipt.from_bytes(zkactors.prove(all_ops, [3, 2], profile="test").to_bytes())
    two = Receipt.from_bytes(zkactors.prove(all_ops, [4, 2], profile="test").to_bytes())
    assert one.trace_length == two.trace_length
    spliced = attrs.evolve(two, proof=one.proof)
    assert assert_rejected(spliced.to_bytes(), all_ops) not in ("format", "statement")


# ---------------------------------------------------------------- 3. forged traces


def test_forgeries_cover_every_constraint_and_instruction_kind(all_ops: Program) -> None:
    forgeries = all_forgeries(all_ops) + assertion_forgeries()
    assert set().union(*(f.kinds for f in forgeries)) == set(range(1, 9))
    assert {f.op for f in forgeries} - {None} == V1_OPS
    branch_cases = {f.name for f in forgeries if f.op in (Op.JZ, Op.JNZ)}
    for op in ("jz", "jnz"):
        assert f"{op} taken goes the other way" in branch_cases
        assert f"{op} not taken goes the other way" in branch_cases


def _forgery_ids() -> list[str]:
    return [f.name for f in all_forgeries(assemble(ALL_OPS_SOURCE)) + assertion_forgeries()]


@pytest.mark.parametrize("name", _forgery_ids())
def test_forged_trace_is_rejected(all_ops: Program, name: str) -> None:
    forgery = next(f for f in all_forgeries(all_ops) + assertion_forgeries() if f.name == name)
    _check_forgery_is_real(forgery)
    assert_rejected(_native_forged_receipt(forgery), forgery.program)


@pytest.mark.parametrize(
    "name",
    [
        "wrong mul",
        "jz not taken goes the other way",
        "the final row has not halted",
        "the claimed outputs are not the trace's",
    ],
)
def test_forged_trace_is_rejected_under_default(all_ops: Program, name: str) -> None:
    forgery = next(f for f in all_forgeries(all_ops) if f.name == name)
    assert_rejected(_native_forged_receipt(forgery, "default"), forgery.program)


@pytest.mark.parametrize("name", ["assert_zero of 1", "assert_eq of 3, 4", "inv of 0"])
def test_oracle_forgeries_match_native_ones(name: str) -> None:
    """The oracle prover on the same forged trace makes the same bytes as the native
    test hook, and the verifiers reject them."""
    forgery = next(f for f in assertion_forgeries() if f.name == name)
    oracle = oracle_prover.prove(
        forgery.program, forgery.inputs, trace=forgery.columns, outputs=forgery.outputs
    )
    assert oracle == _native_forged_receipt(forgery)
    assert_rejected(oracle, forgery.program)


@given(
    programs_with_inputs(failing=False).filter(fits_register_air),  # AIR 1's
    st.data(),
)
def test_random_single_cell_forgeries_are_rejected(
    case: tuple[Program, list[int]], data: st.DataObject
) -> None:
    program, inputs = case
    states = states_of(program, inputs)
    columns = columns_of(program, states)
    column = data.draw(st.integers(0, len(columns) - 1), label="column")
    row = data.draw(st.integers(0, len(columns[0]) - 1), label="row")
    delta = data.draw(st.integers(1, P - 1), label="delta")
    columns[column][row] = (columns[column][row] + delta) % P
    outputs = oracle_prover.outputs_of(program, columns)
    # A helper cell where its register is 0 is unconstrained by design (any h works);
    # such an edit is not a forgery.
    assume(oracle_prover.violated_kinds(program, columns, inputs, outputs))
    receipt = _prove_with_trace(program, inputs, outputs, columns, profile="test")
    assert_rejected(receipt, program)


# Cheats of the oracle prover: each gets a bad proof past the earlier checks, so the
# named check is the one that must bite.
@pytest.mark.parametrize(
    ("cheat", "expected"),
    [("deep", "deep"), ("fold", "fri_fold"), ("remainder", "fri_remainder")],
)
def test_oracle_cheats_are_caught_by_their_check(
    all_ops: Program, cheat: str, expected: str
) -> None:
    data = oracle_prover.prove(all_ops, ALL_OPS_INPUTS, profile="test", cheat=cheat)
    assert assert_rejected(data, all_ops) == expected


@pytest.mark.parametrize(
    "name", ["wrong add", "jnz taken goes the other way", "the claimed outputs are not the trace's"]
)
def test_forged_trace_with_ood_cheat_is_caught_by_fri(all_ops: Program, name: str) -> None:
    """A forged trace whose prover also lies about C_0(z) so the OOD check passes: the
    DEEP polynomial is then far from low degree and FRI must reject it."""
    forgery = next(f for f in all_forgeries(all_ops) if f.name == name)
    data = oracle_prover.prove(
        all_ops, forgery.inputs, trace=forgery.columns, outputs=forgery.outputs, cheat="ood"
    )
    assert assert_rejected(data, all_ops) in ("deep", "fri_fold", "fri_remainder")


def test_remainder_cheat_with_no_fri_layers() -> None:
    """T = 8 under the test profile: L = 0, DEEP is checked against the remainder."""
    program = assemble(".input x\n.output y\naddi y, x, 1\nhalt\n")
    data = oracle_prover.prove(program, (4,), profile="test", cheat="remainder")
    assert Receipt.from_bytes(data).trace_length == 8
    assert assert_rejected(data, program) == "fri_remainder"
    assert_accepted(oracle_prover.prove(program, (4,), profile="test"), program)
