"""The runtime and the machine AIR (issue #14's "Done when"), through ``ZkRuntime`` with
the real prover, on asyncio and trio: a 10,000-instruction program and a program that
sums 2^14 numbers stored in memory are proved and verify, with the right output; v1
programs still go to AIR 1 (receipt format 2); the AIR a proof is under is reported in
``prove_detailed``, ``estimate``, the metrics and the Prometheus export, and is the one
the execution named.

The two "Done when" proofs use the ``default`` profile and the default verifier policy:
``sum_array`` over 2^14 values runs 180,230 cycles, a 2^18-row AIR 2 trace, which the
runtime proves in about 10 s on this project's 2-core machine (5 s at ``test``); the
other tests use ``test`` (verified with ``min_security_bits=0``).
"""

from __future__ import annotations

import struct

import pytest

import zkactors
from zkactors import RuntimeConfig, ZkRuntime, programs
from zkactors.runtime.metrics import MetricsSnapshot
from zkactors.zkvm.airs import machine_trace_length
from zkactors.zkvm.isa import P

pytestmark = pytest.mark.anyio

#: Fast and insecure: the receipts are checked with min_security_bits=0.
PROFILE = "test"


def _config(profile: str = PROFILE) -> RuntimeConfig:
    return RuntimeConfig(profile=profile)


def _check_proofs_by_air(snapshot: MetricsSnapshot, register: int, machine: int) -> None:
    assert dict(snapshot.proofs_by_air) == {1: register, 2: machine}
    assert sum(snapshot.proofs_by_air.values()) == snapshot.proofs
    assert snapshot.in_flight == snapshot.unanswered == 0


async def test_a_10000_instruction_program_proves_and_verifies() -> None:
    program = programs.straight_line(10_000)
    assert len(program.instructions) == 10_000 and program.format == 2
    run = zkactors.execute(program, [3])
    assert (run.air, run.trace_length) == (2, 16384)
    async with ZkRuntime(_config("default")) as rt:
        estimate = await rt.estimate(program, [3])
        outcome = await rt.prove_detailed(program, [3])
    receipt = outcome.receipt
    assert (estimate.air, estimate.trace_length, estimate.trace_width) == (2, 16384, 56)
    assert (outcome.air, receipt.air, receipt.format_version) == (2, 2, 3)
    assert receipt.trace_length == run.trace_length and outcome.cycles == run.cycles == 10_000
    assert receipt.outputs == run.outputs and receipt.profile == "default"
    zkactors.verify(receipt, program)
    assert outcome.estimated_seconds is not None and outcome.prove_seconds is not None
    # The estimate rests on the calibration's AIR 2 proofs: within a generous factor.
    assert 1 / 3 < outcome.prove_seconds / outcome.estimated_seconds < 3


async def test_summing_2_14_numbers_stored_in_memory() -> None:
    program = programs.load("sum_array")
    n = 1 << 14
    values = [(k * k + 7 * k + 1) % P for k in range(n)]
    values[-1] = P - 1
    inputs = [n, *values]
    run = zkactors.execute(program, inputs)
    assert run.cycles == 11 * n + 6 and (run.air, run.trace_length) == (2, 1 << 18)
    async with ZkRuntime(_config("default")) as rt:
        outcome = await rt.prove_detailed(program, inputs)
        snapshot = rt.metrics()
    receipt = outcome.receipt
    assert receipt.outputs == (sum(values) % P,) == run.outputs
    assert receipt.inputs == tuple(inputs)
    assert (outcome.air, receipt.format_version, receipt.trace_length) == (2, 3, 1 << 18)
    zkactors.verify(receipt, program)
    _check_proofs_by_air(snapshot, 0, 1)


async def test_v1_programs_still_go_to_air_1_with_format_2_receipts() -> None:
    requests = [
        (programs.load("fib"), (30,)),
        (programs.load("factorial"), (12,)),
        (programs.load("mimc"), (5, 20)),
        (programs.load("power"), (3, 40)),
    ]
    async with ZkRuntime(_config()) as rt:
        outcomes = [await rt.prove_detailed(program, inputs) for program, inputs in requests]
        estimate = await rt.estimate(*requests[0])
        snapshot = rt.metrics()
        exposition = snapshot.to_prometheus()
    assert estimate.air == 1 and estimate.trace_width == requests[0][0].trace_width
    for (program, inputs), outcome in zip(requests, outcomes, strict=True):
        receipt = outcome.receipt
        assert program.format == 1
        assert (outcome.air, receipt.air, receipt.format_version) == (1, 1, 2)
        assert struct.unpack_from("<H", receipt.to_bytes(), 4)[0] == 2
        assert receipt.trace_length == zkactors.execute(program, inputs).trace_length
        zkactors.verify(receipt, program, min_security_bits=0)
    _check_proofs_by_air(snapshot, len(requests), 0)
    assert 'zkactors_proofs_by_air_total{air="1"} 4.0' in exposition
    assert 'zkactors_proofs_by_air_total{air="2"} 0.0' in exposition


async def test_a_wide_v1_program_goes_where_the_execution_says() -> None:
    """A format-1 program wide enough that the cycle count decides: the runtime proves a
    short run under AIR 1 and a long one under AIR 2, as execute() names them, and its
    cached answer says the same."""
    regs = "".join(f"        set r{k}, {k}\n" for k in range(59))
    wide = zkactors.assemble(
        f".input n\n.output r0\n{regs}loop:   subi n, n, 1\n        jnz n, loop\n        halt\n"
    )
    assert wide.format == 1 and wide.trace_width + 6 > 95
    async with ZkRuntime(_config()) as rt:
        short = await rt.prove_detailed(wide, [2])
        long = await rt.prove_detailed(wide, [60])
        again = await rt.prove_detailed(wide, [60])
        estimate = await rt.estimate(wide, [60])
        snapshot = rt.metrics()
    for outcome, n in ((short, 2), (long, 60)):
        run = zkactors.execute(wide, [n])
        assert (outcome.air, outcome.trace_length) == (run.air, run.trace_length)
        zkactors.verify(outcome.receipt, wide, min_security_bits=0)
    assert (short.air, long.air) == (1, 2)
    assert long.trace_length == machine_trace_length(wide, long.cycles)
    assert again.source == "cache" and again.air == 2
    assert (estimate.air, estimate.trace_width, estimate.constraints) == (2, 56, 47)
    _check_proofs_by_air(snapshot, 1, 1)
