"""The reference verifier against the oracle prover: honest receipts verify; tampered
receipts, forged traces and cheating provers are rejected, each by the check that
protocol.md 9 (and the order in ``zkactors.zkvm.reference.verifier``) names.

Everything runs with the ``test`` profile and T <= 64, plus a few tiny ``default`` ones.
"""

from __future__ import annotations

import ast
import itertools
import pathlib
import random

import attrs
import oracle_prover as oracle
import pytest
from hypothesis import given, settings
from zkvm_strategies import fits_register_air, programs_with_inputs

from zkactors import programs
from zkactors.errors import ExecutionError, VerificationError
from zkactors.zkvm import interpreter
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.isa import Op
from zkactors.zkvm.program import Program
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.reference import verify

P = oracle.P

#: Inputs that keep every library program at T <= 64.
LIBRARY_INPUTS = {
    "factorial": (5,),
    "fib": (5,),
    "horner": (3,),
    "inverse_check": (12345,),
    "mimc": (9, 3),
    "power": (3, 4),
}

#: Every arithmetic instruction, inv and both assertions, in straight-line code.
ARITHMETIC = assemble(
    """
    .input  x, y
    .output h, i, x
            set  a, 5
            mov  b, x
            add  c, a, b
            sub  d, c, y
            mul  e, d, d
            addi f, e, 3
            subi g, f, -1
            muli h, g, 7
            inv  i, h
            mul  j, i, h
            set  one, 1
            assert_eq j, one
            subi k, j, 1
            assert_zero k
            halt
    """
)

#: Both branch kinds, taken and not taken, with L = pc + 1, a loop and two halts.
BRANCHES = assemble(
    """
    .input  n
    .output acc, n, acc
            set  acc, 0
            jz   n, zero        ; not taken for n != 0
            jnz  n, next        ; taken, to pc + 1
    next:   jz   acc, body      ; taken
            halt
    body:   addi acc, acc, 3
            subi n, n, 1
            jnz  n, body        ; taken until n = 0, then falls through
            jz   n, fin         ; taken, to pc + 1
    fin:    halt
    zero:   set  acc, 7
            jmp  end
    end:    halt
    """
)


def _reject(receipt: Receipt | bytes, program: Program) -> str:
    with pytest.raises(VerificationError) as info:
        verify(receipt, program, min_security_bits=0)
    return info.value.check


def _receipt(data: bytes) -> Receipt:
    return Receipt.from_bytes(data)


@pytest.fixture(scope="module")
def fib() -> Program:
    return programs.load("fib")


@pytest.fixture(scope="module")
def fib_data(fib: Program) -> bytes:
    return oracle.prove(fib, (5,))  # T = 64, L = 2


@pytest.fixture(scope="module")
def fib_default(fib: Program) -> bytes:
    return oracle.prove(fib, (1,), profile="default")  # T = 16, L = 0


# ------------------------------------------------------------------ honest receipts


# The register AIR's oracle proves the library programs that fit it; the machine programs
# (memory, streams) are AIR 2's.
@pytest.mark.parametrize(
    "name", [name for name in programs.names() if programs.load(name).fits_register_air]
)
def test_library_programs_verify(name: str) -> None:
    program = programs.load(name)
    inputs = LIBRARY_INPUTS.get(name, (2,) * program.n_inputs)  # (2, ...) for new programs
    data = oracle.prove(program, inputs)
    receipt = _receipt(data)
    assert receipt.outputs == interpreter.run(program, inputs)[0]
    verify(receipt, program, min_security_bits=0)
    verify(data, program, min_security_bits=0)  # raw bytes are decoded first


@settings(max_examples=10)
@given(programs_with_inputs(failing=False).filter(fits_register_air))  # AIR 1's
def test_generated_programs_verify(case: tuple[Program, list[int]]) -> None:
    program, inputs = case
    try:
        outputs, _ = interpreter.run(program, inputs)
    except ExecutionError:
        return  # a failing run has nothing to prove
    receipt = _receipt(oracle.prove(program, inputs))
    assert receipt.outputs == outputs
    verify(receipt, program, min_security_bits=0)


@pytest.mark.parametrize(
    ("program", "inputs"),
    [
        (ARITHMETIC, (11, 4)),
        (ARITHMETIC, (P - 1, P - 2)),
        (BRANCHES, (3,)),
        (BRANCHES, (0,)),
        (BRANCHES, (1,)),
    ],
)
def test_hand_written_programs_verify(program: Program, inputs: tuple[int, ...]) -> None:
    verify(oracle.prove(program, inputs), program, min_security_bits=0)


def test_hand_written_programs_cover_every_instruction_and_branch_outcome() -> None:
    ops = {ins.op for p in (ARITHMETIC, BRANCHES) for ins in p.instructions}
    assert ops == {op for op in Op if op.is_v1}  # every op of the register AIR
    # each conditional branch is both taken and not taken over the inputs above
    outcomes: set[tuple[Op, bool]] = set()
    for n in (3, 0, 1):
        columns = interpreter.trace(BRANCHES, (n,))
        selectors = columns[len(BRANCHES.registers) :]
        pcs = [next(k for k, s in enumerate(selectors) if s[i]) for i in range(len(columns[0]))]
        for here, there in itertools.pairwise(pcs):
            ins = BRANCHES.instructions[here]
            if ins.op.is_branch and ins.target != here + 1:
                outcomes.add((ins.op, there == ins.target))
    assert outcomes == {(Op.JZ, True), (Op.JZ, False), (Op.JNZ, True), (Op.JNZ, False)}


def test_programs_without_inputs_or_outputs() -> None:
    program = assemble("halt\n")  # no registers at all: the trace is one selector column
    verify(oracle.prove(program, ()), program, min_security_bits=0)
    program = assemble("  set a, 3\n  halt\n")
    verify(oracle.prove(program, ()), program, min_security_bits=0)
    program = assemble(".output a\n  set a, 3\n  jmp done\ndone: halt\n")
    verify(oracle.prove(program, ()), program, min_security_bits=0)


def test_default_profile(fib: Program, fib_default: bytes) -> None:
    verify(fib_default, fib, min_security_bits=0)
    data = oracle.prove(fib, (10,), profile="default")  # T = 64, L = 1
    verify(data, fib, min_security_bits=0)


# ------------------------------------------------------------------ tampered receipts


def test_sampled_byte_flips_are_rejected(fib: Program, fib_data: bytes) -> None:
    rng = random.Random(5)
    offsets = sorted(rng.sample(range(len(fib_data)), 120))
    offsets += [s.offset for s in oracle.layout(fib_data)]  # every section's first byte
    for offset in offsets:
        mutated = bytearray(fib_data)
        mutated[offset] ^= 1 << rng.randrange(8)
        try:
            receipt = _receipt(bytes(mutated))
        except ValueError:
            continue  # ReceiptFormatError
        _reject(receipt, fib)


def test_truncated_and_extended_bytes(fib: Program, fib_data: bytes) -> None:
    for cut in (0, 10, len(fib_data) // 2, len(fib_data) - 1):
        assert _reject(fib_data[:cut], fib) == "format"
    assert _reject(fib_data + b"\x00", fib) == "format"


def test_changed_proof_lengths_are_format_errors(fib: Program, fib_data: bytes) -> None:
    receipt = _receipt(fib_data)
    assert _reject(attrs.evolve(receipt, proof=receipt.proof[:-1]), fib) == "format"
    assert _reject(attrs.evolve(receipt, proof=receipt.proof + b"\x00"), fib) == "format"
    assert _reject(attrs.evolve(receipt, trace_width=receipt.trace_width + 1), fib) == "format"


def test_changed_statement(fib: Program, fib_data: bytes) -> None:
    receipt = _receipt(fib_data)
    assert _reject(attrs.evolve(receipt, outputs=(receipt.outputs[0] + 1,)), fib) == "ood"
    assert _reject(attrs.evolve(receipt, inputs=(6,)), fib) == "ood"
    assert _reject(attrs.evolve(receipt, inputs=(5, 5)), fib) == "statement"
    assert _reject(attrs.evolve(receipt, outputs=()), fib) == "statement"
    assert _reject(attrs.evolve(receipt, profile="default"), fib) == "format"
    assert _reject(attrs.evolve(receipt, trace_length=32), fib) == "format"


def test_changed_statement_with_grinding(fib: Program, fib_default: bytes) -> None:
    receipt = _receipt(fib_default)
    assert _reject(attrs.evolve(receipt, outputs=(2,)), fib) == "grinding"
    nonce = oracle.section(fib_default, "nonce").offset
    value = int.from_bytes(fib_default[nonce : nonce + 8], "little")
    mutated = fib_default[:nonce] + (value + 1).to_bytes(8, "little") + fib_default[nonce + 8 :]
    assert _reject(mutated, fib) == "grinding"


def test_another_program_of_the_same_shape(fib: Program, fib_data: bytes) -> None:
    source = programs.source("fib").replace("subi n, n, 1", "subi n, n, 2")
    other = assemble(source)
    assert other.trace_width == fib.trace_width and other != fib
    assert _reject(fib_data, other) == "statement"


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("trace root", "ood"),
        ("composition root", "ood"),
        ("ood frame", "ood"),
        ("trace rows", "trace_merkle"),
        ("trace multiproof", "trace_merkle"),
        ("composition rows", "composition_merkle"),
        ("composition multiproof", "composition_merkle"),
        ("fri layer 0 leaves", "fri_merkle"),
        ("fri layer 0 multiproof", "fri_merkle"),
        ("fri layer 1 leaves", "fri_merkle"),
        ("fri layer 1 multiproof", "fri_merkle"),
    ],
)
def test_each_section_is_bound_by_its_check(
    fib: Program, fib_data: bytes, name: str, check: str
) -> None:
    s = oracle.section(fib_data, name)
    for offset in (s.offset, s.offset + s.length - 8):
        if s.kind == "bytes":
            mutated = bytearray(fib_data)
            mutated[offset] ^= 0x80
            mutated_bytes = bytes(mutated)
        else:
            mutated_bytes = oracle.bump_element(fib_data, offset)
        assert _reject(mutated_bytes, fib) == check


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("trace multiproof", "trace_merkle"),
        ("composition multiproof", "composition_merkle"),
        ("fri layer 0 multiproof", "fri_merkle"),
        ("fri layer 1 multiproof", "fri_merkle"),
    ],
)
def test_multiproofs_must_be_consumed_exactly(
    fib: Program, fib_data: bytes, name: str, check: str
) -> None:
    count = oracle.section(fib_data, name + " count")
    digests = oracle.section(fib_data, name)
    n = digests.length // 32
    end = digests.offset + digests.length

    def with_digests(body: bytes) -> bytes:
        k = len(body) // 32
        return fib_data[: count.offset] + k.to_bytes(4, "little") + body + fib_data[end:]

    body = fib_data[digests.offset : end]
    assert _reject(with_digests(body + body[-32:]), fib) == check  # one digest too many
    assert _reject(with_digests(body[:-32]), fib) == check  # one too few
    assert n >= 1


@pytest.mark.parametrize("name", ["fri roots", "remainder", "nonce"])
def test_late_transcript_messages_move_the_positions(
    fib: Program, fib_data: bytes, name: str
) -> None:
    # Absorbed after the OOD challenges: the OOD check still passes, but the positions
    # drawn at the end change, so the openings no longer fit them (or their count differs).
    s = oracle.section(fib_data, name)
    for offset in (s.offset, s.offset + s.length - 8):
        mutated = oracle.bump_element(fib_data, offset)
        assert _reject(mutated, fib) in {"format", "trace_merkle"}


def test_positions_count_must_match_the_transcript(fib: Program) -> None:
    # Rebuild a receipt with one opened position dropped: well-formed, but inconsistent.
    program = assemble(".input n\n.output n\n  jz n, end\n  subi n, n, 1\nend: halt\n")
    data = oracle.prove(program, (1,))  # T = 8, L = 0: no FRI openings to adjust
    receipt = _receipt(data)
    layout = {s.name: s for s in oracle.layout(data)}
    n_pos = int.from_bytes(data[layout["|P|"].offset :][:2], "little")
    row = layout["trace rows"].length // n_pos
    comp = layout["composition rows"].length // n_pos
    trimmed = (
        data[: layout["|P|"].offset]
        + (n_pos - 1).to_bytes(2, "little")
        + data[layout["trace rows"].offset + row : layout["composition rows"].offset + comp]
        + data[layout["composition rows"].offset + 2 * comp :]
    )
    trimmed_receipt = _receipt(trimmed)  # structurally fine
    assert trimmed_receipt.program_hash == receipt.program_hash
    assert _reject(trimmed_receipt, program) == "format"


# ------------------------------------------------------------------ cheating provers


def test_cheat_deep(fib: Program) -> None:
    assert _reject(oracle.prove(fib, (5,), cheat="deep"), fib) == "deep"


def test_cheat_deep_without_fri_layers_is_a_remainder_failure(fib: Program) -> None:
    # L = 0: DEEP(x) is compared with the remainder polynomial directly.
    data = oracle.prove(fib, (0,), cheat="deep")
    assert _receipt(data).trace_length == 8
    assert _reject(data, fib) == "fri_remainder"


def test_cheat_fold(fib: Program) -> None:
    assert _reject(oracle.prove(fib, (5,), cheat="fold"), fib) == "fri_fold"


@pytest.mark.parametrize("inputs", [(5,), (1,), (0,)])  # L = 2, 1, 0
def test_cheat_remainder(fib: Program, inputs: tuple[int, ...]) -> None:
    assert _reject(oracle.prove(fib, inputs, cheat="remainder"), fib) == "fri_remainder"


def test_cheat_ood_on_an_honest_trace_changes_nothing(fib: Program) -> None:
    verify(oracle.prove(fib, (5,), cheat="ood"), fib, min_security_bits=0)


# ------------------------------------------------------------------ forged traces


def _forgeries() -> dict[
    str, tuple[Program, tuple[int, ...], list[list[int]], tuple[int, ...] | None, set[int]]
]:
    """name -> (program, claimed inputs, forged trace, claimed outputs or None, the
    constraint groups of protocol.md 5 it violates)."""
    fib = programs.load("fib")
    out = {}

    honest = interpreter.trace(fib, (4,))
    changed = [list(c) for c in honest]
    a = fib.registers.index("a")
    changed[a][9] = (changed[a][9] + 1) % P  # mid-trace
    out["register cell changed"] = (fib, (4,), changed, None, {1})

    skipped = [c[:12] + c[13:] + [c[-1]] for c in honest]  # one cycle vanishes
    out["instruction skipped"] = (fib, (4,), skipped, None, {1, 2})

    flipped = oracle.forged_trace(fib, (4,), flip_branch_at=8)  # exits the loop early
    out["wrong branch taken"] = (fib, (4,), flipped, None, {2})

    two_hot = [list(c) for c in honest]
    sel = len(fib.registers)
    two_hot[sel + 5][10] = 1  # a second selector in row 10
    out["selector not one-hot"] = (fib, (4,), two_hot, None, {1, 2})

    unfinished = oracle.forged_trace(fib, (4,), rows=16)  # 28 cycles do not fit in 16 rows
    out["last row has not halted"] = (fib, (4,), unfinished, None, {7})

    out["outputs differ from the trace"] = (fib, (4,), honest, (4,), {8})

    bad_helper = [list(c) for c in honest]
    helper = fib.trace_width - 1
    assert honest[fib.instructions[2].ra][5] != 0
    bad_helper[helper][5] = 0  # row 5 runs another instruction, so only the helper check sees it
    out["branch helper wrong"] = (fib, (4,), bad_helper, None, {3})

    check = programs.load("inverse_check")
    out["inv writes a non-inverse"] = (
        check,
        (3,),
        oracle.forged_trace(check, (3,), inv_result=5),
        None,
        {4},
    )
    asserting = assemble(".input x\n.output x\n  assert_zero x\n  halt\n")
    out["assert_zero on nonzero"] = (
        asserting,
        (2,),
        oracle.forged_trace(asserting, (2,)),
        None,
        {4},
    )
    equal = assemble(".input x, y\n.output x\n  assert_eq x, y\n  halt\n")
    out["assert_eq on different values"] = (
        equal,
        (2, 3),
        oracle.forged_trace(equal, (2, 3)),
        None,
        {4},
    )

    late_start = oracle.forged_trace(fib, (4,), start_pc=1)  # skips "set a, 0" (a is 0 anyway)
    out["row 0 is not instruction 0"] = (fib, (4,), late_start, None, {5})

    out["inputs differ from row 0"] = (fib, (3,), honest, None, {6})
    return out


FORGERIES = _forgeries()


@pytest.mark.parametrize("name", list(FORGERIES))
def test_forged_trace_violates_what_it_says(name: str) -> None:
    program, inputs, trace, outputs, kinds = FORGERIES[name]
    claimed = outputs if outputs is not None else oracle.outputs_of(program, trace)
    assert oracle.violated_kinds(program, trace, inputs, claimed) == kinds


def test_forgeries_cover_every_constraint_kind() -> None:
    assert set().union(*(f[4] for f in FORGERIES.values())) == set(range(1, 9))


@pytest.mark.parametrize("name", list(FORGERIES))
def test_forged_trace_is_rejected_at_the_ood_check(name: str) -> None:
    program, inputs, trace, outputs, _ = FORGERIES[name]
    data = oracle.prove(program, inputs, trace=trace, outputs=outputs)
    assert _reject(data, program) == "ood"


@pytest.mark.parametrize("name", list(FORGERIES))
def test_forged_trace_with_a_fixed_up_ood_is_rejected_by_fri(name: str) -> None:
    program, inputs, trace, outputs, _ = FORGERIES[name]
    data = oracle.prove(program, inputs, trace=trace, outputs=outputs, cheat="ood")
    assert _reject(data, program) == "fri_remainder"


def test_forged_trace_at_the_default_profile(fib: Program) -> None:
    honest = interpreter.trace(fib, (1,))
    data = oracle.prove(fib, (1,), profile="default", trace=honest, outputs=(5,))
    assert _reject(data, fib) == "ood"


# ------------------------------------------------------------------ independence


def test_reference_shares_no_code_with_the_native_side() -> None:
    package = pathlib.Path(verify.__code__.co_filename).parent
    allowed = (
        "zkactors.zkvm.reference",
        "zkactors.errors",
        "zkactors.profiles",
        "zkactors.zkvm.isa",
        "zkactors.zkvm.program",
        "zkactors.zkvm.receipt",
        # the pure-Python interpreter: AIR 2's trace builder raises its execution errors
        "zkactors.zkvm.interpreter",
        "zkactors",
    )
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for module in names:
                if module.startswith("zkactors"):
                    assert module in allowed or module.startswith("zkactors.zkvm.reference"), (
                        path.name,
                        module,
                    )
                else:
                    assert module in {"__future__", "hashlib", "collections.abc", "dataclasses"}, (
                        path.name,
                        module,
                    )
