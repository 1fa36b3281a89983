"""Property: whatever the mix of repeats, bad requests, call styles and timeouts, every
request gets exactly one answer, the right one, and the metrics account for all of them."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkactors import RuntimeConfig, ZkRuntime, programs
from zkactors.errors import InputError, ZkActorsError
from zkactors.zkvm.receipt import Receipt

FIB = programs.load("fib")
# fib(n) mod p for the small n used here.
FIB_VALUES = [0, 1]
for _ in range(30):
    FIB_VALUES.append(FIB_VALUES[-1] + FIB_VALUES[-2])

request_strategy = st.one_of(
    st.integers(min_value=0, max_value=12).map(lambda n: (n,)),
    st.just((1, 2)),  # wrong input count: rejected at the door
)


@pytest.mark.anyio
@settings(max_examples=15, deadline=None)
@given(
    singles=st.lists(request_strategy, max_size=25),
    batch=st.lists(request_strategy, max_size=25),
    window=st.integers(min_value=10, max_value=30),
    intake_capacity=st.integers(min_value=1, max_value=8),
)
async def test_every_request_gets_exactly_one_right_answer(
    singles: list[tuple[int, ...]],
    batch: list[tuple[int, ...]],
    window: int,
    intake_capacity: int,
) -> None:
    config = RuntimeConfig(
        profile="test",
        max_parallel=2,
        cache_window=window,
        intake_capacity=intake_capacity,
        max_pending_proofs=4,
    )
    answers: dict[int, Any] = {}

    async def single(rt: ZkRuntime, index: int, inputs: tuple[int, ...]) -> None:
        try:
            answers[index] = await rt.prove(FIB, inputs)
        except ZkActorsError as exc:
            answers[index] = exc

    async with ZkRuntime(config) as rt:
        async with anyio.create_task_group() as tg:
            for index, inputs in enumerate(singles):
                tg.start_soon(single, rt, index, inputs)
            batch_answers = await rt.prove_many(
                [(FIB, inputs) for inputs in batch], return_exceptions=True
            )
        snapshot = rt.metrics()

    assert len(answers) == len(singles)
    for inputs, answer in [
        *((singles[i], a) for i, a in answers.items()),
        *zip(batch, batch_answers, strict=True),
    ]:
        if len(inputs) != 1:
            assert isinstance(answer, InputError)
        else:
            assert isinstance(answer, Receipt)
            assert answer.inputs == inputs
            assert answer.outputs == (FIB_VALUES[inputs[0]],)
    total = len(singles) + len(batch)
    bad = sum(len(inputs) != 1 for inputs in [*singles, *batch])
    assert snapshot.requests == total
    assert snapshot.rejected == bad
    assert snapshot.accepted == total - bad == snapshot.hits + snapshot.misses + snapshot.coalesced
    assert snapshot.receipts == total - bad
    assert sum(snapshot.failures.values()) == bad
    assert snapshot.in_flight == 0
    assert snapshot.proofs == snapshot.misses
    assert snapshot.peak_queue_depths.get("intake", 0) <= intake_capacity
