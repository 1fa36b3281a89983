"""A hypothesis state machine driving one long-lived ``ZkRuntime`` per example, on asyncio
and on trio, through random interleavings of its whole API.

The runtime lives in a blocking portal (``anyio.from_thread.start_blocking_portal``), so
each rule is an ordinary synchronous step that runs its calls in the runtime's event loop;
the same machine runs on either backend. Rules: ``prove``, ``prove_many`` (with repeats,
bad requests and failing runs mixed in), ``try_prove`` bursts that can overflow a small
intake mailbox (``Overloaded``), awaiting the handles later, callers cancelled or timed
out at random points, bursts of fresh or repeated requests that move the cache's hit
rate across its switching band, and metrics reads.

Further rules: floods of callers that wait for room in a full intake mailbox, some of
them cancelled while they wait (a cancelled send may still have delivered: the request
is then accepted and answered, to nobody), and short-lived runtimes left by
cancellation with callers in flight.

After every step (invariants, on a snapshot taken inside the event loop, where every
actor has reported what it did):

- every answer is a receipt that verifies against its program and states the request's
  inputs, the natively executed outputs and the profile, or the typed error that request
  deserves; a handle awaited twice gives the same answer (one reply per request);
- the identities of ``MetricsSnapshot``'s docstring that can fail hold:
  ``accepted == hits + misses + coalesced + unserved``, ``receipts + sum(failures) ==
  rejected + latency_count`` (every answer counted once) and ``in_flight ==
  unanswered`` (the events agree with the reply cells), with ``in_flight >= 0``, and
  counters never decrease;
- the model's count of requests surely on the books (answered, or refused at the door)
  and of those that may or may not be (cancelled callers, handles not awaited yet)
  brackets ``requests``, and door rejections are counted exactly;
- the cache stays within ``cache_max_entries`` and ``cache_max_bytes``, holds nothing
  while switched off, and its switch follows the documented hysteresis on the shadow
  (would-be) hit rate.

At the end of each example the machine waits for quiescence (no request in flight), then
leaves the runtime (drain) and checks that everything accepted was answered: ``in_flight
== unanswered == 0``; the cancelled-exit rule checks the same after leaving by
cancellation.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

import zkactors
from zkactors import RuntimeConfig, ZkRuntime
from zkactors.errors import (
    DeadlineExceeded,
    ExecutionError,
    InputError,
    Overloaded,
    RuntimeClosed,
    ZkActorsError,
)
from zkactors.runtime import MetricsSnapshot, ProofHandle
from zkactors.testing import inputs_for
from zkactors.testing import programs as program_strategy
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.program import Program
from zkactors.zkvm.receipt import Receipt

pytestmark = pytest.mark.timeout(300)

#: A run that always fails (the answer is ExecutionError, after the request was accepted).
FAILING = assemble(".input x\n.output x\nset t, 1\nassert_zero t\nhalt")
_COUNTERS = ("requests", "accepted", "rejected", "hits", "misses", "coalesced", "receipts")
_CACHE_BYTES = (1 << 30, 12_000)


class Request:
    """A request the machine may send, and what its answer must be."""

    def __init__(self, program: Program, inputs: tuple[int, ...]) -> None:
        self.program = program
        self.inputs = inputs
        try:
            self.outputs: tuple[int, ...] | None = zkactors.execute(program, inputs).outputs
        except ExecutionError:
            self.outputs = None

    def __repr__(self) -> str:
        return f"Request({self.program.hash[:8]}, {self.inputs})"

    def check(self, answer: object) -> None:
        """``answer`` (a receipt or an exception) is right for this request."""
        if self.outputs is None:
            assert isinstance(answer, ExecutionError | DeadlineExceeded), answer
            return
        if isinstance(answer, DeadlineExceeded):
            return
        assert isinstance(answer, Receipt), answer
        zkactors.verify(answer, self.program, min_security_bits=0)
        assert answer.inputs == self.inputs
        assert answer.outputs == self.outputs
        assert answer.profile == "test"


@st.composite
def _requests(draw: st.DrawFn) -> Request:
    program = draw(
        st.one_of(
            # Machine programs too (memory, streams): proved under AIR 2.
            program_strategy(max_cycles=12, max_instructions=8, max_inputs=2),
            st.just(FAILING),
            st.just(zkactors.programs.load("fib")),
        )
    )
    inputs = draw(inputs_for(program))
    if program.hash == zkactors.programs.load("fib").hash:
        inputs = (draw(st.integers(0, 20)),)
    return Request(program, tuple(inputs))


def check_identities(s: MetricsSnapshot) -> None:
    """The identities of ``MetricsSnapshot`` that can fail (see its docstring)."""
    assert s.events_dropped == 0
    assert s.requests == s.accepted + s.rejected
    assert s.in_flight >= 0, "more answers than requests: some request answered twice"
    assert s.accepted == s.hits + s.misses + s.coalesced + s.unserved
    assert s.receipts + sum(s.failures.values()) == s.rejected + s.latency_count
    assert sum(s.proofs_by_air.values()) == s.proofs  # every proof is under one AIR
    assert s.in_flight == s.unanswered, "an answer lost, or counted twice"


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ZkActorsError as exc:
        return exc


class RuntimeMachine(RuleBasedStateMachine):
    backend = "asyncio"

    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self._portal_cm = anyio.from_thread.start_blocking_portal(self.backend)
        self.portal = self._portal_cm.__enter__()
        self.runtime: ZkRuntime | None = None
        self.handles: list[tuple[Request, ProofHandle]] = []
        self.certain = 0  # requests that surely reached the runtime's books
        self.uncertain = 0  # cancelled / timed-out callers: counted or not
        self.pending = 0  # try_prove handles not awaited: counted once the cache has them
        self.door_rejections = 0
        self.receipts_seen = 0
        self.last: MetricsSnapshot | None = None

    # ---- lifecycle ----

    @initialize(
        target=requests,
        first=_requests(),
        max_entries=st.integers(0, 4),
        max_bytes=st.sampled_from(_CACHE_BYTES),
        window=st.integers(4, 12),
        min_requests=st.integers(1, 4),
        intake_capacity=st.integers(1, 4),
        max_parallel=st.integers(1, 2),
        batch_size=st.integers(1, 4),
        off_below=st.sampled_from([0.0, 0.3, 0.5]),
        on_at=st.sampled_from([0.5, 0.6, 0.9]),
    )
    def start(
        self,
        first: Request,
        max_entries: int,
        max_bytes: int,
        window: int,
        min_requests: int,
        intake_capacity: int,
        max_parallel: int,
        batch_size: int,
        off_below: float,
        on_at: float,
    ) -> Request:
        self.config = RuntimeConfig(
            profile="test",
            max_parallel=max_parallel,
            cache_max_entries=max_entries,
            cache_max_bytes=max_bytes,
            cache_window=window,
            cache_min_requests=min_requests,
            intake_capacity=intake_capacity,
            batch_size=batch_size,
            cache_off_below=off_below,
            cache_on_at=max(on_at, off_below),
            max_pending_proofs=4,
        )
        self._runtime_cm = self.portal.wrap_async_context_manager(ZkRuntime(self.config))
        self.runtime = self._runtime_cm.__enter__()
        return first

    def teardown(self) -> None:
        try:
            if self.runtime is not None:
                for request, handle in self.handles:
                    request.check(_outcome(functools.partial(self.portal.call, handle.wait)))
                    self.certain += 1
                self.handles.clear()
                self.pending = 0
                self.portal.call(self._quiesce)
                snapshot = self._snapshot()
                self._check_snapshot(snapshot)
                runtime, self.runtime = self.runtime, None
                self._runtime_cm.__exit__(None, None, None)
                final = runtime.metrics()
                check_identities(final)
                assert final.in_flight == final.unanswered == 0
                assert final.requests == snapshot.requests
        finally:
            if self.runtime is not None:
                # A step failed: leave without waiting for anything (the portal waits
                # for the runtime's task).
                with contextlib.suppress(Exception):
                    self.portal.call(self._cancel_all)
                with contextlib.suppress(Exception):
                    self._runtime_cm.__exit__(None, None, None)
            self._portal_cm.__exit__(None, None, None)

    async def _cancel_all(self) -> None:
        self.rt._intake.close()
        self.rt._actors_scope.cancel()

    async def _quiesce(self) -> None:
        """Wait (a hang guard, not a timing assertion) until nothing is in flight."""
        assert self.runtime is not None
        with anyio.fail_after(60):
            while True:
                snapshot = self.runtime.metrics()
                if snapshot.in_flight == 0 and snapshot.unanswered == 0:
                    return
                await anyio.sleep(0.002)

    @property
    def rt(self) -> ZkRuntime:
        assert self.runtime is not None
        return self.runtime

    # ---- requests ----

    @rule(target=requests, request=_requests())
    def new_request(self, request: Request) -> Request:
        return request

    @rule(request=requests)
    def prove(self, request: Request) -> None:
        answer = _outcome(lambda: self.portal.call(self.rt.prove, request.program, request.inputs))
        self.certain += 1
        self._answered(request, answer)

    @rule(batch=st.lists(requests, min_size=0, max_size=6), bad=st.integers(0, 2))
    def prove_many(self, batch: list[Request], bad: int) -> None:
        pairs: list[tuple[Program, object]] = [(r.program, r.inputs) for r in batch]
        fib = zkactors.programs.load("fib")
        pairs += [(fib, (1, 2))] * bad  # wrong input count: rejected, answered in place
        call = functools.partial(self.rt.prove_many, pairs, return_exceptions=True)
        answers = self.portal.call(call)
        assert len(answers) == len(pairs)
        self.certain += len(pairs)
        self.door_rejections += bad
        for request, answer in zip(batch, answers, strict=False):
            self._answered(request, answer)
        for answer in answers[len(batch) :]:
            assert isinstance(answer, InputError)

    @rule(request=requests)
    def invalid_request(self, request: Request) -> None:
        wrong = (*request.inputs, 0)
        answer = _outcome(lambda: self.portal.call(self.rt.prove, request.program, wrong))
        assert isinstance(answer, InputError), answer
        self.certain += 1
        self.door_rejections += 1

    @rule(burst=st.lists(requests, min_size=1, max_size=8))
    def try_prove_burst(self, burst: list[Request]) -> None:
        """try_prove many times without yielding: a small intake mailbox overflows."""

        def submit() -> list[ProofHandle | ZkActorsError]:
            return [
                _outcome(functools.partial(self.rt.try_prove, r.program, r.inputs)) for r in burst
            ]

        for request, result in zip(burst, self.portal.call(submit), strict=True):
            if isinstance(result, ProofHandle):
                self.handles.append((request, result))
                self.pending += 1
            else:
                assert isinstance(result, Overloaded), result
                self.certain += 1
                self.door_rejections += 1

    @rule(pick=st.integers(0, 255))
    def await_handle(self, pick: int) -> None:
        # How many handles exist depends on timing (Overloaded or not), so nothing drawn
        # may depend on it: hypothesis replays draws to shrink.
        if not self.handles:
            return
        request, handle = self.handles.pop(pick % len(self.handles))
        first = _outcome(lambda: self.portal.call(handle.wait))
        again = _outcome(lambda: self.portal.call(handle.wait))
        assert handle.done()
        assert again is first  # one reply, however often it is read
        self.pending -= 1
        self.certain += 1
        self._answered(request, first)

    @rule(request=requests, checkpoints=st.integers(0, 3))
    def cancelled_caller(self, request: Request, checkpoints: int) -> None:
        """The caller's scope is cancelled after ``checkpoints`` scheduling points (0:
        before it could even queue); whatever it got, nobody else is disturbed."""

        async def impatient() -> object:
            async with anyio.create_task_group() as group:
                outcome: list[object] = []

                async def call() -> None:
                    try:
                        outcome.append(await self.rt.prove(request.program, request.inputs))
                    except ZkActorsError as exc:
                        outcome.append(exc)

                group.start_soon(call)
                for _ in range(checkpoints):
                    await anyio.lowlevel.checkpoint()
                group.cancel_scope.cancel()
            return outcome[0] if outcome else None

        answer = self.portal.call(impatient)
        if answer is None:
            self.uncertain += 1
        else:
            self.certain += 1
            self._answered(request, answer)

    @rule(request=requests, timeout=st.sampled_from([0.0, 1e-4, 1e-3]))
    def timed_out_caller(self, request: Request, timeout: float) -> None:
        call = functools.partial(self.rt.prove, request.program, request.inputs, timeout=timeout)
        answer = _outcome(lambda: self.portal.call(call))
        # A deadline that passes while waiting for mailbox room is a rejection at the door.
        self.uncertain += 1
        if not isinstance(answer, DeadlineExceeded):
            self._answered(request, answer)

    @rule(request=requests, repeats=st.integers(2, 8))
    def repeat_burst(self, request: Request, repeats: int) -> None:
        """The same request many times in one batch: coalesced, or hits if cached."""
        call = functools.partial(
            self.rt.prove_many,
            [(request.program, request.inputs)] * repeats,
            return_exceptions=True,
        )
        for answer in self.portal.call(call):
            self._answered(request, answer)
        self.certain += repeats

    @rule(request=requests, repeats=st.integers(2, 6))
    def repeat_one_by_one(self, request: Request, repeats: int) -> None:
        """The same request again and again, each after the last answer: cache hits."""
        for _ in range(repeats):
            prove = functools.partial(self.rt.prove, request.program, request.inputs)
            self._answered(request, _outcome(functools.partial(self.portal.call, prove)))
            self.certain += 1

    @rule(fresh=st.lists(_requests(), min_size=2, max_size=6))
    def fresh_burst(self, fresh: list[Request]) -> None:
        """New requests: misses pull the hit rate down (the cache may switch off)."""
        call = functools.partial(
            self.rt.prove_many, [(r.program, r.inputs) for r in fresh], return_exceptions=True
        )
        for request, answer in zip(fresh, self.portal.call(call), strict=True):
            self._answered(request, answer)
        self.certain += len(fresh)

    @rule(
        request=requests,
        callers=st.integers(2, 40),
        distinct=st.booleans(),
        checkpoints=st.integers(0, 6),
        cancel=st.booleans(),
    )
    def flood(
        self, request: Request, callers: int, distinct: bool, checkpoints: int, cancel: bool
    ) -> None:
        """Many callers at once: the small intake mailbox fills and most of them wait
        for room; with ``cancel``, all are cancelled after ``checkpoints`` scheduling
        points, some while they wait (their sends may or may not have delivered)."""
        fib = zkactors.programs.load("fib")
        jobs = [
            (fib, (n % 21,)) if distinct else (request.program, request.inputs)
            for n in range(callers)
        ]
        wanted = [Request(fib, (n % 21,)) if distinct else request for n in range(callers)]

        async def crowd() -> list[object]:
            answers: list[object] = [None] * callers

            async def call(index: int) -> None:
                program, inputs = jobs[index]
                try:
                    answers[index] = await self.rt.prove(program, inputs)
                except ZkActorsError as exc:
                    answers[index] = exc

            async with anyio.create_task_group() as group:
                for index in range(callers):
                    group.start_soon(call, index)
                if cancel:
                    for _ in range(checkpoints):
                        await anyio.lowlevel.checkpoint()
                    group.cancel_scope.cancel()
            return answers

        for want, answer in zip(wanted, self.portal.call(crowd), strict=True):
            if answer is None:
                self.uncertain += 1
            else:
                self.certain += 1
                self._answered(want, answer)

    @rule(callers=st.integers(1, 12), checkpoints=st.integers(0, 4), mode=st.booleans())
    def cancelled_exit(self, callers: int, checkpoints: int, mode: bool) -> None:
        """A second, short-lived runtime left by cancellation with callers in flight:
        every caller is answered, and its final figures hold every identity with
        nothing in flight."""
        fib = zkactors.programs.load("fib")
        config = attrs.evolve(self.config, shutdown="drain" if mode else "cancel")

        async def leave_by_cancellation() -> tuple[MetricsSnapshot, list[object]]:
            answers: list[object] = []

            async def call(rt: ZkRuntime, n: int) -> None:
                try:
                    answers.append(await rt.prove(fib, (n,)))
                except ZkActorsError as exc:
                    answers.append(exc)

            async with anyio.create_task_group() as outside:
                with anyio.CancelScope() as host:
                    async with ZkRuntime(config) as rt:
                        for n in range(callers):
                            outside.start_soon(call, rt, 30 + n)
                        for _ in range(checkpoints):
                            await anyio.lowlevel.checkpoint()
                        host.cancel()
                        await anyio.sleep_forever()
            return rt.metrics(), answers

        final, answers = self.portal.call(leave_by_cancellation)
        check_identities(final)
        assert final.in_flight == final.unanswered == 0
        assert len(answers) == callers  # the callers outside were all answered
        for answer in answers:
            if not isinstance(answer, RuntimeClosed):
                assert isinstance(answer, Receipt), answer
        assert final.receipts + sum(final.failures.values()) == final.requests <= callers

    @rule()
    def quiesce(self) -> None:
        self.portal.call(self._quiesce)
        snapshot = self._snapshot()
        assert snapshot.in_flight == snapshot.unanswered == 0
        assert self.certain + self.pending <= snapshot.requests

    # ---- checks ----

    def _answered(self, request: Request, answer: object) -> None:
        request.check(answer)
        self.receipts_seen += isinstance(answer, Receipt)

    def _snapshot(self) -> MetricsSnapshot:
        """A snapshot taken in the event loop's thread, between two of its steps: every
        actor has reported what it did (each emits before it yields)."""
        return self.portal.call(self.rt.metrics)

    def _check_snapshot(self, s: MetricsSnapshot) -> None:
        check_identities(s)
        assert self.certain <= s.requests <= self.certain + self.uncertain + self.pending
        assert self.door_rejections <= s.rejected <= self.door_rejections + self.uncertain
        assert s.receipts >= self.receipts_seen
        assert s.cache_entries <= self.config.cache_max_entries
        assert s.cache_bytes <= self.config.cache_max_bytes
        if not s.cache_enabled:
            assert (s.cache_entries, s.cache_bytes) == (0, 0), "an off cache stores nothing"
        # The switch (cache.py): off when the shadow hit rate over the window falls below
        # cache_off_below, on again at cache_on_at, once the window holds min_requests.
        assert s.cache_window <= self.config.cache_window
        if s.cache_window >= self.config.cache_min_requests:
            if s.cache_enabled:
                assert s.cache_would_be_hit_rate >= self.config.cache_off_below, s
            else:
                assert s.cache_would_be_hit_rate < self.config.cache_on_at, s
        if self.last is not None:
            for name in _COUNTERS:
                assert getattr(s, name) >= getattr(self.last, name), name
            for name, count in self.last.failures.items():
                assert s.failures.get(name, 0) >= count, name
            assert s.cache_evictions >= self.last.cache_evictions
            assert s.cache_switches >= self.last.cache_switches
            if s.cache_enabled != self.last.cache_enabled:
                assert s.cache_switches > self.last.cache_switches
        self.last = s

    @invariant()
    def metrics_add_up(self) -> None:
        if self.runtime is not None:
            self._check_snapshot(self._snapshot())


class AsyncioRuntimeMachine(RuntimeMachine):
    backend = "asyncio"


class TrioRuntimeMachine(RuntimeMachine):
    backend = "trio"


STATEFUL = settings(
    max_examples=8,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.parametrize(
    "machine", [AsyncioRuntimeMachine, TrioRuntimeMachine], ids=["asyncio", "trio"]
)
def test_runtime_state_machine(machine: type[RuntimeMachine]) -> None:
    run_state_machine_as_test(machine, settings=STATEFUL)
