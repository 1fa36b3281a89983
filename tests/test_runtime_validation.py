"""Bad requests get typed errors in the caller's task, before anything is queued, while
other requests keep succeeding; failing programs are answered without proving."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest
from runtime_doubles import FaultInjectingTestProver, wait_until

from zkactors import assemble, programs
from zkactors.errors import (
    DeadlineExceeded,
    ExecutionError,
    InputError,
    Overloaded,
    ProfileError,
    ProgramFormatError,
    RuntimeClosed,
)
from zkactors.runtime import RuntimeConfig, ZkRuntime
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify

pytestmark = pytest.mark.anyio

FIB = programs.load("fib")
P = 2**64 - 2**32 + 1
INVERT = assemble(".input x\n.output y\n  inv y, x\n  halt\n")


def config(**overrides: Any) -> RuntimeConfig:
    return RuntimeConfig(**{"profile": "test", "max_parallel": 2, **overrides})


BAD_REQUESTS: list[tuple[object, object, dict[str, Any], type[Exception], str]] = [
    ("set a, 1", (1,), {}, ProgramFormatError, "expected a zkactors Program"),
    (b"ZKVM\x01garbage", (1,), {}, ProgramFormatError, "registers"),
    (FIB, (), {}, InputError, "expected 1 input"),
    (FIB, (1, 2), {}, InputError, "expected 1 input"),
    (FIB, (P,), {}, InputError, r"\[0, p\)"),
    (FIB, (-1,), {}, InputError, r"\[0, p\)"),
    (FIB, (True,), {}, InputError, r"\[0, p\)"),
    (FIB, ("3",), {}, InputError, r"\[0, p\)"),
    (FIB, 5, {}, InputError, "sequence of ints"),
    (FIB, "5", {}, InputError, "sequence of ints"),
    (FIB, {"m": 1}, {}, InputError, "unknown input name"),
    (FIB, (3,), {"profile": "fast"}, ProfileError, "unknown security profile 'fast'"),
    (FIB, (3,), {"timeout": 0}, DeadlineExceeded, "already passed"),
    (FIB, (3,), {"timeout": "soon"}, InputError, "timeout"),
]


async def test_bad_requests_raise_typed_errors_while_others_succeed() -> None:
    prover = FaultInjectingTestProver()
    good: list[Receipt] = []

    async def steady_traffic(rt: ZkRuntime) -> None:
        for n in range(30):
            good.append(await rt.prove(FIB, (n % 7,)))

    async with ZkRuntime(config(), _prover=prover) as rt:
        async with anyio.create_task_group() as tg:
            tg.start_soon(steady_traffic, rt)
            for program, inputs, options, error, message in BAD_REQUESTS:
                with pytest.raises(error, match=message):
                    await rt.prove(program, inputs, **options)
                with pytest.raises(error, match=message):
                    rt.try_prove(program, inputs, **options)
                await anyio.lowlevel.checkpoint()
        snapshot = rt.metrics()
    assert len(good) == 30
    verify(good[0], FIB, min_security_bits=0)
    # Nothing bad reached the pipeline: only the good keys were proved.
    assert set(prover.calls) <= {(n,) for n in range(7)}
    assert snapshot.rejected == 2 * len(BAD_REQUESTS)
    assert snapshot.accepted == 30
    assert snapshot.requests == snapshot.receipts + sum(snapshot.failures.values())


async def test_a_failing_program_is_answered_without_proving() -> None:
    prover = FaultInjectingTestProver()
    async with ZkRuntime(config(max_cycles=1000), _prover=prover) as rt:
        with pytest.raises(ExecutionError, match="inv"):
            await rt.prove(INVERT, (0,))
        with pytest.raises(ExecutionError, match="1000"):
            await rt.prove(FIB, (10_000,))  # 60,004 cycles > max_cycles
        receipt = await rt.prove(INVERT, (5,))
        snapshot = rt.metrics()
    verify(receipt, INVERT, min_security_bits=0)
    assert prover.calls == [(5,)]
    # Failures count by error type; the cycle limit has its own (an ExecutionError).
    assert snapshot.failures == {"ExecutionError": 1, "CycleLimitExceeded": 1}
    assert snapshot.proofs == 1 and snapshot.proof_failures == 0


async def test_prove_many_rejects_a_bad_batch_before_queueing_anything() -> None:
    prover = FaultInjectingTestProver()
    async with ZkRuntime(config(), _prover=prover) as rt:
        with pytest.raises(InputError, match="expected 1 input"):
            await rt.prove_many([(FIB, (1,)), (FIB, (1, 2)), (FIB, (3,))])
        with pytest.raises(InputError, match="pair"):
            await rt.prove_many([(FIB, (1,), "extra")])  # type: ignore[list-item]
        assert prover.calls == []
        answers = await rt.prove_many(
            [(FIB, (1,)), (FIB, (1, 2)), (INVERT, (0,)), (FIB, (3,))], return_exceptions=True
        )
        assert await rt.prove_many([]) == []
    assert isinstance(answers[0], Receipt) and answers[0].outputs == (1,)
    assert isinstance(answers[1], InputError)
    assert isinstance(answers[2], ExecutionError)
    assert isinstance(answers[3], Receipt) and answers[3].outputs == (2,)


async def test_prove_many_raises_the_first_failure_after_all_are_answered() -> None:
    prover = FaultInjectingTestProver()
    async with ZkRuntime(config(), _prover=prover) as rt:
        with pytest.raises(ExecutionError):
            await rt.prove_many([(FIB, (4,)), (INVERT, (0,)), (FIB, (6,))])
        # The good ones were proved and cached anyway.
        await rt.prove_many([(FIB, (4,)), (FIB, (6,))])
        snapshot = rt.metrics()
    assert sorted(prover.calls) == [(4,), (6,)]
    assert snapshot.hits == 2


async def test_prove_many_spans_several_submissions() -> None:
    async with ZkRuntime(config(batch_size=3, intake_capacity=2)) as rt:
        requests = [(FIB, (n % 11,)) for n in range(40)]
        answers = await rt.prove_many(requests)
    assert [a.inputs for a in answers] == [r[1] for r in requests]


async def test_try_prove_raises_overloaded_when_the_mailbox_is_full() -> None:
    prover = FaultInjectingTestProver()
    prover.hold()
    cfg = config(intake_capacity=1, max_pending_proofs=1)
    async with ZkRuntime(cfg, _prover=prover) as rt:
        first = rt.try_prove(FIB, (1,))  # taken by the cache, being proved
        await wait_until(lambda: rt.metrics().misses == 1)
        second = rt.try_prove(FIB, (2,))  # taken by the cache, waiting for a proof slot
        await wait_until(lambda: rt.metrics().misses == 2)
        third = rt.try_prove(FIB, (3,))  # waits in the mailbox
        with pytest.raises(Overloaded, match="intake mailbox is full"):
            rt.try_prove(FIB, (4,))
        assert not first.done()
        prover.release()
        receipts = [await first, await second.wait(), await third]
        assert first.done()
        snapshot = rt.metrics()
    assert [r.outputs for r in receipts] == [(1,), (1,), (2,)]
    assert snapshot.failures == {"Overloaded": 1}


async def test_calls_outside_the_block_raise_runtime_closed() -> None:
    rt = ZkRuntime(config())
    with pytest.raises(RuntimeClosed, match="not running"):
        await rt.prove(FIB, (1,))
    async with rt:
        await rt.prove(FIB, (1,))
    with pytest.raises(RuntimeClosed, match="stopped"):
        await rt.prove(FIB, (1,))
    with pytest.raises(RuntimeClosed):
        rt.try_prove(FIB, (1,))
    with pytest.raises(RuntimeClosed):
        await rt.prove_many([(FIB, (1,))])
    with pytest.raises(RuntimeClosed, match="already started"):
        async with rt:
            pass
