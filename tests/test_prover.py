"""The native prover: receipts are byte-identical to the pure-Python oracle prover's,
deterministic, independent of the thread count, accepted by the reference verifier, and
every failure is a typed error.

Sizes stay tiny (T <= 256, mostly the ``test`` profile): the oracle is plain Python.
"""

from __future__ import annotations

import array
import os
import threading
from collections.abc import Iterator

import oracle_prover as oracle
import pytest
from hypothesis import given, settings
from zkvm_strategies import fits_register_air, programs_with_inputs

import zkactors
from zkactors import kernels, programs
from zkactors._native import prover as native
from zkactors.errors import ExecutionError, InputError, ProfileError, ProvingError
from zkactors.zkvm import interpreter
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.isa import P
from zkactors.zkvm.program import Program
from zkactors.zkvm.prover import _prove_with_trace, memory_bytes, prove, prove_with_stats
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.reference.verifier import verify as reference_verify

LIBRARY = [
    ("fib", [0]),
    ("fib", [9]),
    ("factorial", [6]),
    ("horner", [3]),
    ("inverse_check", [12345]),
    ("mimc", [4, 9]),
    ("power", [3, 5]),
]


@pytest.fixture(params=kernels.LEVELS)
def kernel_level(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test on one kernel level (scalar, AVX2, AVX-512), forced in every native
    module; levels this CPU lacks are skipped."""
    if request.param not in kernels.available():
        pytest.skip(f"this CPU has no {request.param}")
    with kernels.forced(str(request.param)) as level:
        yield level


def _load(name: str, inputs: list[int]) -> tuple[Program, list[int]]:
    program = programs.load(name)
    return program, inputs[: program.n_inputs]


@pytest.mark.parametrize(("name", "inputs"), LIBRARY)
@pytest.mark.usefixtures("kernel_level")
def test_identical_to_the_oracle_prover(name: str, inputs: list[int]) -> None:
    program, inputs = _load(name, inputs)
    receipt = prove(program, inputs, profile="test")
    assert receipt.to_bytes() == oracle.prove(program, inputs, profile="test")


@pytest.mark.parametrize("profile", ["default", "high"])
@pytest.mark.usefixtures("kernel_level")
def test_identical_to_the_oracle_prover_on_secure_profiles(profile: str) -> None:
    program = programs.load("fib")
    receipt = prove(program, [3], profile=profile)
    assert receipt.to_bytes() == oracle.prove(program, [3], profile=profile)


@settings(max_examples=10)
@given(programs_with_inputs(failing=False).filter(fits_register_air))  # AIR 1's prover and oracle
def test_identical_to_the_oracle_on_generated_programs(case: tuple[Program, list[int]]) -> None:
    program, inputs = case
    try:
        interpreter.run(program, inputs)
    except ExecutionError:
        return  # a failing run has nothing to prove
    assert prove(program, inputs, profile="test").to_bytes() == oracle.prove(
        program, inputs, profile="test"
    )


@pytest.mark.parametrize(("name", "inputs"), LIBRARY[:4])
def test_reference_verifier_accepts(name: str, inputs: list[int]) -> None:
    program, inputs = _load(name, inputs)
    reference_verify(prove(program, inputs, profile="test"), program, min_security_bits=0)


def test_statement_is_the_run() -> None:
    program = programs.load("fib")
    receipt, stats = prove_with_stats(program, [10], profile="test")
    assert receipt.program_hash == program.hash
    assert receipt.inputs == (10,)
    assert receipt.outputs == (55,)
    assert receipt.profile == "test"
    assert receipt.trace_width == program.trace_width
    assert stats.cycles == 6 * 10 + 4
    assert receipt.trace_length == stats.trace_length == 128
    assert stats.receipt_size == receipt.size
    assert set(stats.timings) >= {"lde", "fri", "queries", "total"}


def test_deterministic_and_independent_of_threads() -> None:
    program = programs.load("mimc")
    inputs = [5, 11][: program.n_inputs]
    one = prove(program, inputs, profile="test", threads=1).to_bytes()
    assert prove(program, inputs, profile="test", threads=1).to_bytes() == one
    assert prove(program, inputs, profile="test", threads=2).to_bytes() == one
    assert prove(program, inputs, profile="test", threads=3).to_bytes() == one


def test_receipts_round_trip() -> None:
    receipt = prove(programs.load("factorial"), [4], profile="test")
    assert Receipt.from_bytes(receipt.to_bytes()) == receipt


def test_reexported_from_the_package() -> None:
    assert zkactors.prove is prove


def test_inverse_of_zero_is_an_execution_error_with_its_line() -> None:
    program = programs.load("inverse_check")
    with pytest.raises(ExecutionError) as info:
        prove(program, [0], profile="test")
    assert info.value.pc is not None
    assert "inv" in (info.value.source_line or "")


def test_failed_assertion_is_an_execution_error() -> None:
    program = assemble(".input x\n.output x\nassert_zero x\nhalt\n")
    with pytest.raises(ExecutionError) as info:
        prove(program, [3], profile="test")
    assert info.value.pc == 0
    assert "assert_zero" in (info.value.source_line or "")


def test_cycle_limit_is_an_execution_error() -> None:
    with pytest.raises(ExecutionError) as info:
        prove(programs.load("fib"), [100], profile="test", max_cycles=50)
    assert info.value.pc is None


def test_bad_arguments_are_typed_errors() -> None:
    program = programs.load("fib")
    with pytest.raises(InputError):
        prove(program, [], profile="test")
    with pytest.raises(InputError):
        prove(program, [P], profile="test")
    with pytest.raises(InputError):
        prove(program, [True], profile="test")
    with pytest.raises(ProfileError):
        prove(program, [1], profile="fast")
    with pytest.raises(InputError):
        prove(program, [1], profile="test", threads=0)
    with pytest.raises(InputError):
        prove(program, [1], profile="test", max_cycles=0)
    with pytest.raises(TypeError):
        prove("\n".join(program.source_lines), [1])  # type: ignore[arg-type]  # text


def _watch_a_proof(n: int) -> set[int]:
    """The progress values the main thread sees while a worker thread proves fib(n)."""
    program = programs.load("fib")
    progress = array.array("I", [0])
    seen: set[int] = set()

    def worker() -> None:
        code, _, _ = native.prove(
            program.to_bytes(), array.array("Q", [n]), 0, 1, 1 << 30, memoryview(progress)
        )
        assert code == native.OK

    thread = threading.Thread(target=worker)
    thread.start()
    while thread.is_alive():
        seen.add(progress[0])
    thread.join()
    assert progress[0] == 7
    return seen


def test_proving_releases_the_gil() -> None:
    """An observation, not a timing: the main thread sees the proof *between* steps,
    which it could not if the native call held the GIL from start to end."""
    # A few attempts: the OS may not schedule the main thread inside one short proof.
    assert any(_watch_a_proof(20_000) & {1, 2, 3, 4, 5, 6} for _ in range(5))


# ---- the test hook ----


def test_prove_with_trace_on_the_honest_trace_is_prove() -> None:
    program = programs.load("fib")
    columns = interpreter.trace(program, [6])
    outputs = oracle.outputs_of(program, columns)
    hooked = _prove_with_trace(program, [6], outputs, columns, profile="test", threads=2)
    assert hooked == prove(program, [6], profile="test").to_bytes()


@pytest.mark.parametrize("profile", ["test", "default"])
@pytest.mark.usefixtures("kernel_level")
def test_prove_with_trace_on_a_forged_trace_is_the_oracle_forgery(profile: str) -> None:
    program = programs.load("fib")
    forged = oracle.forged_trace(program, [5], flip_branch_at=2)
    outputs = oracle.outputs_of(program, forged)
    got = _prove_with_trace(program, [5], outputs, forged, profile=profile)
    assert got == oracle.prove(program, [5], profile=profile, trace=forged)


def test_prove_with_trace_rejects_ill_fitting_columns() -> None:
    program = programs.load("fib")
    columns = [list(c) for c in interpreter.trace(program, [2])]
    outputs = oracle.outputs_of(program, columns)
    with pytest.raises(ProvingError):
        _prove_with_trace(program, [2], outputs, columns[:-1], profile="test")
    with pytest.raises(ProvingError):
        _prove_with_trace(program, [2], outputs, [c[:12] for c in columns], profile="test")
    columns[0][0] = P
    with pytest.raises(ProvingError):
        _prove_with_trace(program, [2], outputs, columns, profile="test")
    with pytest.raises(InputError):
        _prove_with_trace(program, [2], [], columns, profile="test")


def test_memory_estimate_grows_with_the_trace() -> None:
    small = memory_bytes(13, 2**10)
    assert memory_bytes(13, 2**11) > small
    assert memory_bytes(26, 2**10) > small
    assert memory_bytes(13, 2**10, "test") < small  # blowup 4 rather than 8
    with pytest.raises(ValueError):
        memory_bytes(13, 1000)
    with pytest.raises(ProfileError):
        memory_bytes(13, 1024, "fast")


@pytest.mark.skipif(
    os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") > memory_bytes(5, 2**26, "test"),
    reason="this machine could really prove a 2^26-row trace",
)
def test_a_proof_larger_than_memory_is_refused_before_allocating() -> None:
    program = assemble(".input n\n.output n\nloop: subi n, n, 1\njnz n, loop\nhalt\n")
    with pytest.raises(ProvingError, match="GiB"):
        prove(program, [2**24], profile="test", max_cycles=2**26)


def test_bench_module_reports_every_step() -> None:
    import argparse

    from zkactors.bench import prove as bench

    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(
        ["--fib", "5", "--sizes", "10", "--threads", "1,2", "--repeat", "1", "--profile", "test"]
    )
    result = bench.run(args)
    assert [(row["workload"], row["threads"]) for row in result.rows] == [
        ("fib(5)", 1),
        ("fib(5)", 2),
        ("fib 2^10", 1),
        ("fib 2^10", 2),
    ]
    for row in result.rows:
        assert set(bench.COLUMNS) <= set(row)
        assert row["T"] == 2 ** (row["cycles"]).bit_length()


def test_concurrent_proofs_do_not_interfere() -> None:
    """The runtime proves many requests at once on worker threads."""
    from concurrent.futures import ThreadPoolExecutor

    program = programs.load("fib")
    ns = [40, 41, 300, 301, 42, 302]
    expected = [prove(program, [n], profile="test").to_bytes() for n in ns]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(
            pool.map(lambda n: prove(program, [n], profile="test", threads=2).to_bytes(), ns)
        )
    assert got == expected


@pytest.mark.usefixtures("kernel_level")
def test_threads_do_not_change_default_profile_receipts() -> None:
    """Large enough (N >= 2^14) that the threaded paths run, grinding included."""
    program = programs.load("fib")
    one = prove(program, [400], threads=1)
    assert one.trace_length == 4096
    assert prove(program, [400], threads=2) == one
    assert prove(program, [400], threads=3) == one


@pytest.mark.parametrize(
    ("source", "inputs"),
    [
        ("halt\n", []),  # no registers at all: the trace is one selector column
        (".output a\nset a, 5\nhalt\n", []),
        (".input x\n.output x, x\njmp end\nend: halt\n", [3]),
        (".input x\n.output y\nloop: jnz x, skip\nskip: inv y, x\nhalt\n", [7]),
    ],
)
@pytest.mark.usefixtures("kernel_level")
def test_edge_shaped_programs_match_the_oracle(source: str, inputs: list[int]) -> None:
    program = assemble(source)
    receipt = prove(program, inputs, profile="test", threads=2)
    assert receipt.to_bytes() == oracle.prove(program, inputs, profile="test")
    reference_verify(receipt, program, min_security_bits=0)
