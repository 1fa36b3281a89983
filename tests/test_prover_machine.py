"""The native prover under AIR 2 (ext/prover_machine.c, protocol.md 15-16): receipts are
byte-identical to the Python oracle's (honest runs and forged traces), verify in the
reference verifier, state the run's outputs and cycles, do not depend on the thread
count, stop on cancellation, and the prover picks the AIR protocol.md 17 says.

Sizes stay small (T = 256 under the ``test`` profile for the oracle comparisons): the
oracle is plain Python.
"""

from __future__ import annotations

import threading
from array import array
from typing import Any

import oracle_prover as oracle
import pytest
from machine_bytes import LOAD, READ, format2, ins, sum_stream
from machine_programs import ALL_OPS_SOURCE

import zkactors._native.prover as native
from zkactors import profiles, programs
from zkactors.errors import (
    ExecutionError,
    InputError,
    ProofCancelled,
    ProvingError,
    VerificationError,
)
from zkactors.zkvm import interpreter
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.prover import (
    CancelToken,
    _prove_machine_with_trace,
    choose_air,
    memory_bytes,
    prove,
    prove_with_stats,
)
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.reference import air2
from zkactors.zkvm.reference import verify as reference_verify
from zkactors.zkvm.reference.field import P
from zkactors.zkvm.verifier import verify as native_verify

LIBRARY = [
    ("fib", [5]),
    ("factorial", [6]),
    ("horner", [3]),
    ("inverse_check", [12345]),
    ("mimc", [4, 9]),
    ("power", [3, 5]),
]


def _program(name: str):
    return assemble(ALL_OPS_SOURCE) if name == "all_ops" else programs.load(name)


@pytest.mark.parametrize(("name", "inputs"), [*LIBRARY, ("all_ops", [7, 3])])
def test_identical_to_the_oracle(name: str, inputs: list[int]) -> None:
    program = _program(name)
    inputs = inputs[: program.n_inputs]
    receipt, stats = prove_with_stats(program, inputs, profile="test", air=2)
    data = receipt.to_bytes()
    assert stats.air == 2 and receipt.format_version == 3 and receipt.air == 2
    assert data == oracle.prove_machine(program, tuple(inputs), profile="test")
    outputs, cycles = interpreter.run(program, inputs)[:2]
    assert receipt.outputs == tuple(outputs)
    assert stats.cycles == cycles and stats.trace_width == 56
    assert stats.trace_length == max(256, 1 << cycles.bit_length())
    assert stats.receipt_size == len(data)
    reference_verify(data, program, min_security_bits=0)


def test_identical_to_the_oracle_on_the_default_profile() -> None:
    fib = programs.load("fib")
    receipt = prove(fib, [3], profile="default", air=2)
    assert receipt.to_bytes() == oracle.prove_machine(fib, (3,), profile="default")
    reference_verify(receipt.to_bytes(), fib)  # the default minimum: 100 bits


def _honest(program, inputs) -> list[list[int]]:
    return [list(c) for c in air2.main_trace(program, tuple(inputs)).columns]


@pytest.mark.parametrize(
    "forgery",
    ["output", "register_value", "pc", "aux_breaking_multiplicity"],
)
def test_forged_traces_give_the_oracles_bytes(forgery: str) -> None:
    """The test hook composes on the whole LDE domain, as the protocol's recipe, so a
    trace that breaks the AIR (its composition of degree >= 3T) gives the same bytes as
    the oracle, and the reference verifier refuses them."""
    fib = programs.load("fib")
    columns = _honest(fib, (5,))
    claimed = list(oracle.claimed_machine_outputs(fib, columns))
    if forgery == "output":
        claimed[0] = (claimed[0] + 1) % P
    elif forgery == "register_value":
        columns[air2.VA][3] = (columns[air2.VA][3] + 1) % P
    elif forgery == "pc":
        columns[1][4] = (columns[1][4] + 1) % P
    else:  # m_rom one too many
        columns[43][0] = (columns[43][0] + 1) % P
    data = _prove_machine_with_trace(fib, (5,), claimed, columns, profile="test")
    assert data == oracle.prove_machine(fib, (5,), trace=columns, outputs=claimed)
    with pytest.raises(Exception) as info:
        reference_verify(data, fib, min_security_bits=0)
    assert getattr(info.value, "check", None) is not None


def test_honest_trace_through_the_hook_verifies() -> None:
    fib = programs.load("fib")
    columns = _honest(fib, (5,))
    claimed = oracle.claimed_machine_outputs(fib, columns)
    data = _prove_machine_with_trace(fib, (5,), claimed, columns, profile="test")
    assert data == oracle.prove_machine(fib, (5,))  # M = N and M = 4T: one polynomial
    reference_verify(data, fib, min_security_bits=0)


def test_the_hook_refuses_what_no_verifier_accepts() -> None:
    fib = programs.load("fib")
    columns = _honest(fib, (5,))
    claimed = list(oracle.claimed_machine_outputs(fib, columns))
    with pytest.raises(ProvingError, match="56 columns"):
        _prove_machine_with_trace(fib, (5,), claimed, columns[:-1])
    with pytest.raises(ProvingError, match="length"):
        _prove_machine_with_trace(fib, (5,), claimed, [c[:128] for c in columns])
    with pytest.raises(ProvingError, match="does not fit"):
        _prove_machine_with_trace(fib, (5,), [], columns)  # fewer outputs than .output


def test_thread_count_does_not_change_the_bytes() -> None:
    # fib(1300): T = 2^13, N = 2^15 on the test profile, so the threads really split work.
    fib = programs.load("fib")
    one, stats = prove_with_stats(fib, [1300], profile="test", threads=1, air=2)
    two = prove(fib, [1300], profile="test", threads=2, air=2)
    assert stats.trace_length == 2**13
    assert one.to_bytes() == two.to_bytes()
    reference_verify(one.to_bytes(), fib, min_security_bits=0)


def _native_prove(data: bytes, inputs: list[int], **kw: Any) -> tuple[int, Any, dict]:
    profile = profiles.get(kw.pop("profile", "test")).id
    return native.prove(data, array("Q", inputs), profile, kw.pop("threads", 1), 10_000, air=2)


def test_memory_and_streams_program() -> None:
    """A format-2 program (RAM, read, write): the receipt states the stream I/O."""
    stream = [5, 11, P - 2]
    code, data, details = _native_prove(sum_stream(), [3, *stream])
    assert code == native.OK
    outputs = (sum(stream) % P, *(2 * x % P for x in stream))
    assert details["outputs"] == outputs
    assert details["cycles"] == 1 + 5 * 3 + 2 + 7 * 3 + 3
    receipt = Receipt.from_bytes(data)
    assert receipt.format_version == 3 and receipt.outputs == outputs
    assert receipt.inputs == (3, *stream)
    # two thread counts, one receipt
    assert _native_prove(sum_stream(), [3, *stream], threads=2)[1] == data


@pytest.mark.parametrize(
    ("inputs", "code", "pc"),
    [
        ([3, 1, 2], "READ_PAST_END", 1),
        ([3, 1, 2, 3, 4], "INPUTS_LEFT", 17),
    ],
)
def test_machine_failures_are_codes(inputs: list[int], code: str, pc: int) -> None:
    rc, data, details = _native_prove(sum_stream(), inputs)
    assert (rc, data, details["fail_pc"]) == (getattr(native, code), None, pc)


def test_bad_address_is_a_code() -> None:
    regs = [f"r{k}" for k in range(65)]
    bad = format2(regs, 1, [1], [ins(LOAD, rd=1, ra=0, imm=1), ins(READ, rd=2), ins(0xF)])
    rc, _, details = _native_prove(bad, [2**32 - 1, 9])
    assert (rc, details["fail_pc"]) == (native.BAD_ADDRESS, 0)


def test_bad_inputs() -> None:
    assert _native_prove(sum_stream(), [])[0] == native.BAD_INPUTS  # no .input value
    assert _native_prove(sum_stream(), [1, P])[0] == native.BAD_INPUTS  # not canonical
    assert _native_prove(b"ZKVM", [])[0] == native.BAD_PROGRAM


def test_cancellation_mid_proof() -> None:
    """Cancelled once the main trace is committed (while the auxiliary segment is built):
    ProofCancelled, and the next proof on the same thread is whole and verifies."""
    fib = programs.load("fib")
    token = CancelToken()
    flag, progress = token._flag, array("I", [0])
    result: dict[str, Any] = {}
    n = (2**16 - 5) // 6

    def work() -> None:
        result["first"] = native.prove(
            fib.to_bytes(), array("Q", [n]), 1, 1, 1 << 40, progress, flag, 2
        )
        result["second"] = prove(fib, [5], profile="test", air=2)

    thread = threading.Thread(target=work)
    thread.start()
    while progress[0] < 1 and thread.is_alive():
        threading.Event().wait(0.001)
    token.cancel()
    thread.join(60)
    assert result["first"][0] == native.CANCELLED and result["first"][1] is None
    assert 1 <= progress[0] < 8
    reference_verify(result["second"].to_bytes(), fib, min_security_bits=0)
    with pytest.raises(ProofCancelled):
        prove(fib, [5], air=2, cancel=token)


def test_the_prover_chooses_the_cheaper_air() -> None:
    fib = programs.load("fib")
    assert prove_with_stats(fib, [5], profile="test")[1].air == 1
    assert choose_air(fib, None) == 1
    # 60 registers, 63 instructions: w_1 = 124; a run of 200 cycles has T_1 = T_2 = 256, where AIR
    # 1 commits 256 (w_1 + 6) cells and AIR 2 256 * 95.
    regs = "\n".join(f"        set r{k}, {k}" for k in range(59))
    wide = assemble(
        f".input n\n.output r0\n{regs}\nloop:   subi n, n, 1\n        jnz n, loop\n        halt\n"
    )
    assert wide.trace_width + 6 > 95
    assert choose_air(wide, 10) == 1  # T_1 = 128 against T_2 = 256
    assert choose_air(wide, 200) == 2
    receipt, stats = prove_with_stats(wide, [60], profile="test")
    assert stats.air == choose_air(wide, stats.cycles) and receipt.air == stats.air
    reference_verify(receipt.to_bytes(), wide, min_security_bits=0)


def test_memory_estimate() -> None:
    assert native.machine_memory_bytes(7, 1) is None
    small, large = native.machine_memory_bytes(8, 1), native.machine_memory_bytes(18, 1)
    assert small is not None and large is not None and large > 1000 * small


def test_memory_bytes_by_air() -> None:
    assert memory_bytes(56, 2**18, air=2) == native.machine_memory_bytes(18, 1)
    assert memory_bytes(56, 2**18, air=2) > memory_bytes(56, 2**18)  # the aux segment
    with pytest.raises(ValueError, match="56 wide"):
        memory_bytes(10, 2**18, air=2)
    with pytest.raises(ValueError, match="56 wide"):
        memory_bytes(56, 128, air=2)


# ---- programs of instruction set v2 (memory, streams), both verifiers ----

# Reads n values, stores them, loads them back in reverse, writes each plus its index,
# and outputs their sum: RAM at small and large addresses, both streams.
STREAMS = """
.input  n
.output sum
        set  i, 0
fill:   sub  t, i, n
        jz   t, back
        read x
        store [i + 4000000000], x
        add  sum, sum, x
        addi i, i, 1
        jmp  fill
back:   jz   i, done
        subi i, i, 1
        load y, [i + 4000000000]
        add  y, y, i
        write y
        store [7], y
        jmp  back
done:   load z, [7]
        assert_eq z, z
        halt
"""


def test_v2_program_identical_to_the_oracle_and_verified_by_both_verifiers() -> None:
    program = assemble(STREAMS)
    assert program.format == 2
    inputs = [4, 10, 20, P - 1, 5]
    receipt, stats = prove_with_stats(program, inputs, profile="test")
    assert stats.air == 2  # only AIR 2 expresses it
    data = receipt.to_bytes()
    assert data == oracle.prove_machine(program, tuple(inputs), profile="test")
    outputs, cycles = interpreter.run(program, inputs)
    assert receipt.outputs == tuple(outputs) and stats.cycles == cycles
    assert receipt.inputs == tuple(inputs)
    reference_verify(data, program, min_security_bits=0)
    native_verify(data, program, min_security_bits=0)


@pytest.mark.parametrize(("name", "inputs"), [("fib", [9]), ("mimc", [4, 9])])
def test_native_verifier_accepts_air2_receipts(name: str, inputs: list[int]) -> None:
    program = programs.load(name)
    receipt = prove(program, inputs, profile="default", threads=2, air=2)
    native_verify(receipt, program)
    native_verify(receipt.to_bytes(), program)


def test_native_verifier_refuses_a_forged_air2_receipt() -> None:
    fib = programs.load("fib")
    columns = _honest(fib, (5,))
    claimed = list(oracle.claimed_machine_outputs(fib, columns))
    claimed[0] = (claimed[0] + 1) % P
    data = _prove_machine_with_trace(fib, (5,), claimed, columns)
    with pytest.raises(VerificationError):
        native_verify(data, fib, min_security_bits=0)


@pytest.mark.parametrize(
    "inputs",
    [[3, 1, 2], [3, 1, 2, 3, 4]],  # read past the end; stream inputs left unread
)
def test_machine_failures_raise_the_interpreters_errors(inputs: list[int]) -> None:
    program = assemble(STREAMS)
    with pytest.raises(ExecutionError) as expected:
        interpreter.run(program, inputs)
    with pytest.raises(ExecutionError) as got:
        prove(program, inputs, profile="test")
    assert str(got.value) == str(expected.value)
    assert got.value.pc == expected.value.pc


def test_bad_address_raises_the_interpreters_error() -> None:
    program = assemble(".input a\n.output b\n        load b, [a + 5]\n        halt\n")
    with pytest.raises(ExecutionError) as expected:
        interpreter.run(program, [2**32 - 2])
    with pytest.raises(ExecutionError) as got:
        prove(program, [2**32 - 2], profile="test")
    assert str(got.value) == str(expected.value) and "address" in str(got.value)


def test_bench_prove_under_both_airs() -> None:
    import argparse

    from zkactors.bench import prove as bench

    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    flags = ["--fib", "5", "--sizes", "9", "--threads", "1", "--repeat", "1", "--air", "1,2"]
    args = parser.parse_args([*flags, "--profile", "test"])
    rows = bench.run(args).rows
    assert [(row["workload"], row["air"]) for row in rows] == [
        ("fib(5)", 1),
        ("fib(5)", 2),
        ("fib 2^9", 1),
        ("fib 2^9", 2),
    ]
    for row in rows:
        assert set(bench.COLUMNS) <= set(row)
        assert (row["aux_ms"] > 0) == (row["air"] == 2)
        assert row["T"] == (
            max(256, 2 ** row["cycles"].bit_length())
            if row["air"] == 2
            else 2 ** row["cycles"].bit_length()
        )
    with pytest.raises(SystemExit):
        parser.parse_args(["--air", "3"])


def test_progress_counts_the_steps_of_section_15() -> None:
    progress = array("I", [0])
    fib = programs.load("fib")
    code, _, _ = native.prove(fib.to_bytes(), array("Q", [5]), 0, 1, 1000, progress, None, 2)
    assert (code, progress[0]) == (native.OK, 8)
    code, _, _ = native.prove(fib.to_bytes(), array("Q", [5]), 0, 1, 1000, progress, None, 1)
    assert (code, progress[0]) == (native.OK, 7)


def test_forged_trace_on_the_default_profile() -> None:
    """B = 8: the hook composes on all N = 8T points (an honest proof uses 4T), so a
    trace whose composition has degree >= 4T still gives the oracle's bytes."""
    fib = programs.load("fib")
    columns = _honest(fib, (5,))
    claimed = list(oracle.claimed_machine_outputs(fib, columns))
    columns[1][4] = (columns[1][4] + 1) % P  # a wrong pc
    data = _prove_machine_with_trace(fib, (5,), claimed, columns, profile="default")
    assert data == oracle.prove_machine(
        fib, (5,), trace=columns, outputs=claimed, profile="default"
    )


def test_the_runtime_estimates_and_proves_a_machine_program() -> None:
    from zkactors.runtime.costmodel import ProofShape

    program = assemble(STREAMS)
    _, stats = prove_with_stats(program, [2, 5, 6], profile="test")
    shape = ProofShape.of(program, stats, "test")
    assert (shape.air, shape.trace_width, shape.constraints) == (2, 56, 47)
    assert shape.peak_bytes() == memory_bytes(56, stats.trace_length, "test", air=2)
    fib = programs.load("fib")
    assert ProofShape.of(fib, prove_with_stats(fib, [40], profile="test")[1], "test").air == 1


@pytest.mark.anyio
async def test_the_runtime_proves_a_machine_program() -> None:
    from zkactors import RuntimeConfig, ZkRuntime

    program = assemble(STREAMS)
    async with ZkRuntime(RuntimeConfig(profile="test")) as runtime:
        receipt = await runtime.prove(program, [2, 5, 6])
    assert receipt.air == 2 and receipt.outputs == tuple(interpreter.run(program, [2, 5, 6])[0])
    reference_verify(receipt.to_bytes(), program, min_security_bits=0)


def test_air_choice_is_checked() -> None:
    program = assemble(STREAMS)
    with pytest.raises(InputError, match="air=2"):
        prove(program, [1, 5], profile="test", air=1)
    with pytest.raises(InputError, match="air must be"):
        prove(programs.load("fib"), [5], profile="test", air=3)


@pytest.mark.parametrize(
    "source",
    [
        "jmp end\nend: halt",  # no registers at all
        ".input a\n.output a, a\n        halt",  # one instruction, a repeated output
    ],
)
def test_edge_programs_identical_to_the_oracle(source: str) -> None:
    program = assemble(source)
    inputs = [7] * program.n_inputs
    receipt = prove(program, inputs, profile="test", air=2)
    assert receipt.to_bytes() == oracle.prove_machine(program, tuple(inputs), profile="test")
    native_verify(receipt, program, min_security_bits=0)


def test_a_proof_that_cannot_fit_is_refused_before_allocating() -> None:
    program = assemble(".input n\n.output n\nloop: subi n, n, 1\njnz n, loop\nhalt\n")
    with pytest.raises(ProvingError, match="GiB"):
        prove(program, [2**24], profile="test", max_cycles=2**26, air=2)
