"""Property-based testing for code built on zkactors: hypothesis strategies for zkVM
programs, their inputs, receipts and runtime workloads, and a workload checker.

Requires `hypothesis <https://hypothesis.readthedocs.io>`_: ``pip install 'zkactors[testing]'``.

Strategies
    ``programs(max_cycles=64, max_instructions=None, max_inputs=3, max_outputs=4)``
        valid programs that halt within ``max_cycles`` cycles on *every* input: straight
        code, counted loops (``jnz`` back, or ``jz`` out and ``jmp`` back, nested),
        forward ``jz`` / ``jnz`` skips taken and not taken, early halts, and every
        instruction kind, including ``inv`` only on nonzero values and assertions that
        hold. About one in four is a machine program (memory, ``read``/``write``, long
        blocks), which only the machine AIR proves; ``machine=False`` draws only
        programs that fit the register AIR. ``may_fail=True`` adds unguarded ``inv``,
        assertions and loads/stores at a register's value, so some runs fail with
        ``ExecutionError``. ``program_sources(...)`` draws the assembly text instead.
    ``inputs_for(program)``
        a tuple of inputs for that program (field elements, biased to 0, 1 and p - 1),
        with the stream inputs its run reads if it has ``read``.
    ``receipts(profile="test")``
        ``(receipt, program)`` pairs made by the real prover; the receipt verifies.
    ``workloads(unique=4, repeat_rate=0.5, sizes=(16, 64))``
        lists of ``(program, inputs)`` requests, ``unique`` of them distinct, with the
        given share of repeats, each program drawn with a cycle budget from ``sizes``.

Checking a runtime
    ``await run_workload(runtime, workload)`` sends a workload through a running
    :class:`~zkactors.ZkRuntime` (``prove_many``, or concurrent ``prove`` calls with
    ``mode="concurrent"``), verifies every receipt against its program and the natively
    executed outputs, and returns a :class:`WorkloadReport` of counts.

Example (two pytest tests)::

    import anyio
    from hypothesis import given, settings, strategies as st

    import zkactors
    from zkactors.testing import inputs_for, programs, run_workload, workloads

    # deadline=None: proving time varies with the machine's load, and hypothesis would
    # otherwise fail any example slower than 200 ms.
    @settings(deadline=None)
    @given(st.data())
    def test_every_program_proves_and_verifies(data):
        # Machine programs (memory, streams) too: prove() puts them under AIR 2.
        program = data.draw(programs(max_cycles=32))
        inputs = data.draw(inputs_for(program))
        receipt = zkactors.prove(program, inputs, profile="test")
        zkactors.verify(receipt, program, min_security_bits=0)  # "test" is insecure
        assert receipt.outputs == zkactors.execute(program, inputs).outputs

    @settings(max_examples=5, deadline=None)
    @given(workloads(unique=3, repeat_rate=0.5))
    def test_runtime_answers_a_workload(workload):
        async def main():
            # calibrate="off": no start-up timing proofs, which a test does not need.
            config = zkactors.RuntimeConfig(profile="test", calibrate="off")
            async with zkactors.ZkRuntime(config) as rt:
                return await run_workload(rt, workload, min_security_bits=0)

        report = anyio.run(main)
        assert report.ok, report.problems

The ``test`` profile is fast and insecure: use it for tests only.
``tests/test_testing_docstring.py`` runs this example as written here.
"""

from __future__ import annotations

try:
    import hypothesis as _hypothesis  # noqa: F401  (checked here for a clear message)
except ImportError as exc:  # pragma: no cover
    raise ImportError("zkactors.testing needs hypothesis: pip install 'zkactors[testing]'") from exc

from zkactors.testing._programs import field_elements, inputs_for, program_sources, programs
from zkactors.testing._receipts import receipts
from zkactors.testing._workloads import (
    Request,
    WorkloadReport,
    repeat_count,
    run_workload,
    workloads,
)

__all__ = [
    "Request",
    "WorkloadReport",
    "field_elements",
    "inputs_for",
    "program_sources",
    "programs",
    "receipts",
    "repeat_count",
    "run_workload",
    "workloads",
]
