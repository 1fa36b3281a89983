"""The supervisor's thread decision (a pure function, tested directly) and the four
parallelism modes as the provers see them."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from runtime_doubles import FaultInjectingTestProver, RowsTestCostModel, wait_until

from zkactors import RuntimeConfig, ZkRuntime, programs
from zkactors.errors import ConfigError
from zkactors.runtime.scheduling import choose_threads, estimated_wait, makespan

FIB = programs.load("fib")

#: A large proof: 4 s on one thread, 2.2 s on two, 1.3 s on four (efficiency ~0.8).
LARGE = (4.0, 2.2, 1.6, 1.3)
#: A mid-size proof: 30 ms on one thread, 20 ms on two.
MID = (0.030, 0.020)


def test_a_lone_large_proof_gets_every_core() -> None:
    assert choose_threads("adaptive", LARGE[:2], free_threads=2, total_threads=2) == 2
    assert choose_threads("adaptive", LARGE, free_threads=4, total_threads=4) == 4


def test_many_proofs_get_one_thread_each() -> None:
    # Ten mid-size proofs: the first, with nine behind it, runs beside them.
    assert (
        choose_threads(
            "adaptive", MID, free_threads=2, total_threads=2, queued_after=9, queued_work=9 * 0.030
        )
        == 1
    )
    # Even large ones: with as much work queued as there are threads, one each.
    assert (
        choose_threads(
            "adaptive", LARGE, free_threads=4, total_threads=4, queued_after=3, queued_work=12.0
        )
        == 1
    )


def test_the_last_large_proof_waits_for_every_thread_rather_than_start_on_one() -> None:
    # A small proof still runs on the other thread for ~10 ms: waiting for it and then
    # taking both threads (0.01 + 2.2 s) beats starting now on one (4 s).
    decision = choose_threads(
        "adaptive",
        LARGE[:2],
        free_threads=1,
        total_threads=2,
        running=1,
        running_work=0.01,
        running_left=0.01,
    )
    assert decision == 0
    # ... but not when the running proof has longer left than waiting would save.
    assert (
        choose_threads(
            "adaptive",
            LARGE[:2],
            free_threads=1,
            total_threads=2,
            running=1,
            running_work=3.0,
            running_left=3.0,
        )
        == 1
    )


def test_threads_that_do_not_help_are_not_given() -> None:
    # Two threads slower than one (small proofs: thread start-up costs more than it saves).
    assert choose_threads("adaptive", (0.004, 0.005), free_threads=2, total_threads=2) == 1
    # Below intra_proof_min_seconds: one thread whatever the estimate says.
    assert choose_threads("adaptive", LARGE, free_threads=4, total_threads=4, min_seconds=10.0) == 1


def test_fixed_modes() -> None:
    kwargs: dict[str, Any] = {"free_threads": 4, "total_threads": 4}
    assert choose_threads("sequential", LARGE, **kwargs) == 1
    assert choose_threads("sequential", LARGE, running=1, **kwargs) == 0
    assert choose_threads("inter", LARGE, running=3, **kwargs) == 1
    assert choose_threads("intra", LARGE, **kwargs) == 4
    assert choose_threads("intra", LARGE, running=1, **kwargs) == 0
    assert choose_threads("intra", LARGE[:2], **kwargs) == 2  # at most the cores
    assert choose_threads("adaptive", LARGE, free_threads=0, total_threads=4) == 0


estimates = st.lists(st.floats(min_value=1e-4, max_value=100.0), min_size=1, max_size=8).map(
    lambda values: tuple(sorted(values, reverse=True))
)


@given(
    seconds=estimates,
    total=st.integers(1, 8),
    free=st.integers(0, 8),
    running=st.integers(0, 8),
    queued_after=st.integers(0, 50),
    queued_work=st.floats(0, 1000),
    running_work=st.floats(0, 1000),
    running_left=st.floats(0, 100),
    mode=st.sampled_from(["adaptive", "sequential", "inter", "intra"]),
)
def test_decisions_stay_within_the_free_threads(
    seconds: tuple[float, ...],
    total: int,
    free: int,
    running: int,
    queued_after: int,
    queued_work: float,
    running_work: float,
    running_left: float,
    mode: str,
) -> None:
    free = min(free, total)
    threads = choose_threads(
        mode,
        seconds,
        free_threads=free,
        total_threads=total,
        running=running,
        queued_after=queued_after,
        queued_work=queued_work,
        running_work=running_work,
        running_left=running_left,
    )
    assert 0 <= threads <= min(free, len(seconds)) or (mode == "intra" and threads <= total)
    if free == 0:
        assert threads == 0
    if mode == "adaptive" and threads > 1:
        # More threads only when they shorten the estimated makespan.
        other = queued_work + running_work
        assert makespan(seconds, threads, total_threads=total, other_work=other) < makespan(
            seconds, 1, total_threads=total, other_work=other
        )


def test_estimated_wait() -> None:
    assert estimated_wait(free_threads=1, total_threads=2, ahead_work=0.0, running_work=5.0) == 0
    assert estimated_wait(free_threads=0, total_threads=2, ahead_work=1.0, running_work=3.0) == 2.0


def test_parallelism_must_be_a_known_mode() -> None:
    with pytest.raises(ConfigError, match="adaptive"):
        RuntimeConfig(parallelism="forced")
    assert RuntimeConfig().parallelism == "adaptive"


def _config(**overrides: Any) -> RuntimeConfig:
    return RuntimeConfig(
        **{"profile": "test", "max_parallel": 2, "intra_proof_min_seconds": 0.0, **overrides}
    )


async def _burst(rt: ZkRuntime, prover: FaultInjectingTestProver, count: int) -> None:
    """``count`` distinct proofs, all queued before the first may start."""
    prover.hold()
    before = rt.metrics().accepted
    async with anyio.create_task_group() as tg:
        for n in range(count):
            tg.start_soon(rt.prove, FIB, (100 + n,))
        await wait_until(lambda: rt.metrics().accepted == before + count)
        await wait_until(
            lambda: (
                rt.metrics().queue_depths["proofs_queued"]
                + rt.metrics().queue_depths["proofs_running"]
                == count
            )
        )
        # Every proof the supervisor has started must be inside the prover (held) before
        # the gate opens; otherwise, on a loaded machine, a worker thread may reach the
        # prover only after an earlier proof finished and the two never overlap.
        await wait_until(lambda: prover.active == rt.metrics().queue_depths["proofs_running"])
        prover.release()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("mode", "max_active", "threads"),
    [("sequential", 1, {1}), ("inter", 2, {1}), ("intra", 1, {2}), ("adaptive", 2, {1})],
)
async def test_modes_as_the_provers_see_them(mode: str, max_active: int, threads: set[int]) -> None:
    prover = FaultInjectingTestProver()
    # Threads help (efficiency 1): only the queue keeps adaptive at one thread each.
    model = RowsTestCostModel(per_row=1e-2, efficiency=1.0)
    async with ZkRuntime(_config(parallelism=mode), cost_model=model, _prover=prover) as rt:
        await _burst(rt, prover, 6)
        snapshot = rt.metrics()
    assert prover.max_active == max_active
    # In adaptive mode the first proof may start before the rest are queued, and the
    # last may find both provers done: a lone proof, it gets both threads. Every other
    # one saw the queue.
    middle = prover.threads_used[1:-1] if mode == "adaptive" else prover.threads_used
    assert set(middle) == threads
    assert sum(snapshot.proofs_by_threads.values()) == snapshot.proofs == 6
    assert snapshot.parallelism == mode


@pytest.mark.anyio
async def test_adaptive_gives_a_lone_proof_both_threads_and_a_queue_one_each() -> None:
    prover = FaultInjectingTestProver()
    model = RowsTestCostModel(per_row=1e-2, efficiency=1.0)
    async with ZkRuntime(_config(), cost_model=model, _prover=prover) as rt:
        await rt.prove(FIB, (5000,))
        await _burst(rt, prover, 6)
    assert prover.threads_used[0] == 2
    assert prover.threads_used[2:-1] == [1] * 4


#: The fairness scenario: ``CLIENTS`` callers each keep one small proof (a 128-row trace)
#: coming; a large one (1024 rows: 8 times the estimate) arrives once the stream runs.
CLIENTS = 8
STREAM = 150
SMALL_ROWS, LARGE_ROWS = 128, 1024


async def _overtakers(factor: float) -> tuple[int, int]:
    """Run the stream with ``overtake_factor=factor``; return how many small proofs were
    submitted after the large one yet started before it, and how many small proofs were
    submitted after it in all. The stream stops once the large proof is answered or
    ``STREAM`` small ones were submitted."""
    prover = FaultInjectingTestProver()
    model = RowsTestCostModel(per_row=1e-3)
    config = _config(
        parallelism="sequential", max_parallel=1, overtake_factor=factor, cache_max_entries=0
    )
    submitted: list[tuple[int, ...]] = []
    large_done = anyio.Event()

    async def client(n: int) -> None:
        while not large_done.is_set() and len(submitted) < STREAM:
            submitted.append((n,))
            await rt.prove(FIB, (n,))

    async def large() -> None:
        await wait_until(lambda: len(prover.calls) >= 2 * CLIENTS)
        submitted.append((100,))
        await rt.prove(FIB, (100,))
        large_done.set()

    async with (
        ZkRuntime(config, cost_model=model, _prover=prover) as rt,
        anyio.create_task_group() as tg,
    ):
        for n in range(CLIENTS):
            tg.start_soon(client, 10 + n)  # fib(10..13): 128-row traces
        tg.start_soon(large)
    arrived = submitted.index((100,))
    started = prover.calls.index((100,))
    # Each client's calls are sequential, so its k-th proof is its k-th submission.
    positions: dict[tuple[int, ...], list[int]] = {}
    for index, key in enumerate(submitted):
        positions.setdefault(key, []).append(index)
    seen: dict[tuple[int, ...], int] = {}
    overtakers = 0
    for key in prover.calls[:started]:
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        overtakers += positions[key][occurrence] > arrived
    return overtakers, len(submitted) - arrived - 1


@pytest.mark.anyio
async def test_a_large_proof_is_not_starved_by_a_stream_of_small_ones() -> None:
    # The bound (supervisor docstring): after the large job arrives, at most A x its
    # estimate of later work starts before it, plus the jobs queued ahead of it (one per
    # client at most) and the one whose start crossed the line.
    factor = 2.0
    overtakers, later = await _overtakers(factor)
    bound = factor * LARGE_ROWS / SMALL_ROWS + CLIENTS + 1
    assert overtakers <= bound
    # ... and the stream went on after it: the large proof did not wait for its end.
    assert later < STREAM - 2 * CLIENTS


@pytest.mark.anyio
async def test_plain_shortest_first_lets_the_stream_starve_a_large_proof() -> None:
    # The same stream without ageing: the large proof waits until the stream stops.
    overtakers, _ = await _overtakers(float("inf"))
    assert overtakers > 2.0 * LARGE_ROWS / SMALL_ROWS + CLIENTS + 1
