"""The supervisor's decisions, as pure functions: how many threads a proof gets, and
whether a deadline can still be met.

The original performance report's finding 3: forcing parallelism made batches of mid-size
proofs 0.23-0.82x slower, and that report's "adaptive" mode won only by not
parallelising. Real proofs are different (milliseconds to seconds of native work, with
the GIL released), but the question stays: given ``C`` prover threads, should a proof get
several of them (intra-proof: its NTTs, hashing and grinding split over threads, at less
than perfect efficiency) or one, so that other proofs run beside it (inter-proof: nearly
perfect efficiency, but one proof is no faster)?

:func:`choose_threads` answers it by estimated makespan: the time until everything the
supervisor holds is done. Starting this proof with ``k`` threads takes ``t_k`` (from the
cost model); meanwhile the other ``C - k`` threads work through the rest (queued proofs'
single-thread estimates plus what running proofs still need, in thread-seconds); what is
left after ``t_k`` is shared by all ``C`` threads. So a lone proof gets every thread when
that is faster, a queue of proofs gets one thread each (less total work), and the last
large proof of a batch may *wait* for threads still finishing a small proof rather than
start on one thread and take twice as long. It is a fluid approximation, deliberately
simple: it needs only sums the supervisor keeps anyway, so a decision costs O(C).
"""

from __future__ import annotations

from collections.abc import Sequence

#: A plan must beat the single-thread one by this share to be chosen: ties go to fewer
#: threads, which leave room for requests that arrive meanwhile.
MARGIN = 0.02
#: Leaving a thread idle to wait for the running proofs must save this share: the wait
#: rests on the running proofs' estimated ends, and each of them may run late.
WAIT_MARGIN = 0.10


def makespan(
    seconds: Sequence[float],
    threads: int,
    *,
    total_threads: int,
    other_work: float,
) -> float:
    """Estimated seconds until all work is done if this proof starts now with ``threads``
    (``seconds[threads - 1]``) and ``other_work`` thread-seconds of other proofs share the
    remaining threads, then all of them."""
    own = seconds[threads - 1]
    beside = max(0, total_threads - threads) * own
    left = max(0.0, other_work - beside)
    return own + left / max(1, total_threads)


def choose_threads(
    mode: str,
    seconds: Sequence[float],
    *,
    free_threads: int,
    total_threads: int,
    running: int = 0,
    queued_after: int = 0,
    queued_work: float = 0.0,
    running_work: float = 0.0,
    running_left: float = 0.0,
    min_seconds: float = 0.0,
) -> int:
    """How many threads the next proof should start with now; 0: not now (wait for a
    running proof to finish).

    :param mode: ``RuntimeConfig.parallelism``.
    :param seconds: the proof's predicted seconds with 1, 2, ... threads; its length is
        the most threads one proof may get.
    :param free_threads: prover threads not in use; ``total_threads`` all of them.
    :param running: proofs running now.
    :param queued_after: proofs queued behind this one; ``queued_work`` their summed
        single-thread estimates (seconds).
    :param running_work: thread-seconds the running proofs still need (estimated);
        ``running_left``: seconds until the last of them should finish.
    :param min_seconds: in adaptive mode, a proof predicted under this on one thread
        gets one thread.
    """
    if free_threads < 1 or not seconds:
        return 0
    most = min(len(seconds), total_threads)
    if mode == "sequential":
        return 1 if running == 0 else 0
    if mode == "intra":
        return most if running == 0 else 0
    if mode == "inter":
        return 1
    # adaptive
    usable = min(most, free_threads)
    if seconds[0] < min_seconds or most == 1:
        return 1
    other = queued_work + running_work
    best_threads = 1
    best = makespan(seconds, 1, total_threads=total_threads, other_work=other)
    threshold = best * (1 - MARGIN)
    for threads in range(2, usable + 1):
        span = makespan(seconds, threads, total_threads=total_threads, other_work=other)
        if span < threshold and span < best:
            best_threads, best = threads, span
    if queued_after == 0 and running and usable < most:
        # Nothing else could use the free threads: compare with waiting until the
        # running proofs are done and starting with every thread.
        waiting = running_left + seconds[most - 1]
        if waiting < best * (1 - WAIT_MARGIN):
            return 0
    return best_threads


def estimated_wait(
    *,
    free_threads: int,
    total_threads: int,
    ahead_work: float,
    running_work: float,
) -> float:
    """Seconds a proof should wait before it starts: none if a thread is free and nothing
    is ahead of it; else the thread-seconds ahead of it (running proofs' rest and queued
    proofs that go first) spread over every thread."""
    if free_threads > 0 and ahead_work <= 0:
        return 0.0
    return (ahead_work + running_work) / max(1, total_threads)


__all__ = ["MARGIN", "WAIT_MARGIN", "choose_threads", "estimated_wait", "makespan"]
