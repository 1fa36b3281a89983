"""The cache actor: answers repeats, coalesces identical proofs, and decides whether
caching pays.

It reads two mailboxes with two loops that share its state (one actor, one thread, no
awaits inside a state change): submissions from intake, and completions of the jobs it
started. The completion loop never waits on anything, so a completion can always be
delivered; that is what keeps the pipeline free of cycles (the request loop may wait for
the estimator, the estimator for the supervisor, the supervisor never for the cache).

Three mechanisms:

- **Result cache.** Receipts by key (program hash, inputs, profile), bounded by entries
  and by bytes (receipt sizes), least recently used out first.
- **Coalescing.** A miss whose key is already being proved joins that proof's waiters
  instead of starting another: one proof, many answers. This costs nothing, so it stays
  on when the result cache is off.
- **Self-switching.** The original performance report's finding 1: a cache pays only
  above ~50 % hits. The actor keeps the outcome of its last ``cache_window`` lookups
  (hits and misses; coalesced requests are neutral, they would coalesce either way)
  against a *shadow* cache: the keys (and sizes) a cache of this capacity would hold,
  kept up to date whether the real one is on or off. It switches off when the shadow's
  hit rate falls below ``cache_off_below`` (after ``cache_min_requests`` lookups) and
  dropping its receipts; while off it stores nothing but keeps counting would-be hits,
  and switches on again at ``cache_on_at``. Deciding on the shadow rate, which equals the
  real one in steady state, keeps a just-re-enabled (still empty) cache from switching
  straight off again.

Distinct jobs past the cache are capped at ``max_pending_proofs``: at the cap the request
loop waits for a completion, which bounds every queue behind it.

**Persistent store** (``RuntimeConfig.store``; :mod:`.store`). A miss that starts a new
flight first asks the store, in a task of this actor (so the request loop goes on, and
identical requests arriving meanwhile join the flight); a verified receipt from it
answers every waiter (provenance ``store``) and enters the memory cache, anything else
(absent, rejected, the store failing or backing off) sends the job on as before. After
a proof the receipt is queued for a writer task of this actor, after the replies: a
write never delays an answer, and a full queue drops the write (counted), never waits.

Each answer carries its provenance (:class:`~.replies.Provenance`): ``cache`` for a hit,
``proved`` for the request that started the proof, ``coalesced`` for those that joined
it; the cache keeps the proof's figures (cycles above all: a receipt states only the
trace length) beside each receipt, so a hit can say them too. When admission refuses a
job because its deadline cannot be met, only the waiters whose own deadline is that
early are answered (``DeadlineExceeded``); the others are proved anew.

**Cancellation.** Each flight has a :class:`~zkactors.CancelToken`, carried by its job
to the supervisor and the prover. A caller that stops waiting (cancelled, or its timeout
passed) answers its own reply slot and calls :meth:`CacheActor.waiters_left`; a flight
none of whose waiters is still unanswered has nobody to prove for, so its token is
cancelled: the supervisor drops the job if it is queued, the native prover stops if it
runs, and the completion comes back as ``ProofCancelled``. Coalesced waiters keep a
proof alive: it is cancelled only when the last one has gone. A request that joins a
flight after its token was cancelled is not lost: when the cancelled completion comes
back, the flight is proved anew for the waiters it still has. A submission whose
requests were all answered before the cache looked them up (the caller left early)
starts no proof.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Iterable

import anyio
import attrs
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from zkactors._logging import get_logger
from zkactors.errors import ProofCancelled, ZkActorsError
from zkactors.runtime.config import RuntimeConfig
from zkactors.runtime.logs import DebugEvents, for_request
from zkactors.runtime.messages import CacheKey, Completion, Job, ProofRequest, Submission
from zkactors.runtime.metrics import (
    CacheReport,
    MetricsSink,
    ReplyTally,
    StoreReport,
    depth_before_receive,
)
from zkactors.runtime.replies import Outcome, ProofInfo, Provenance, Reply
from zkactors.runtime.store import StoreFront, StoreHit
from zkactors.zkvm.prover import CancelToken
from zkactors.zkvm.receipt import Receipt

log = get_logger(__name__)
_debug = DebugEvents(__name__)

# Window entries: bit 0 = the shadow cache would hit, bit 1 = the real cache did hit.
_WOULD = 1
_HIT = 2

#: Emit metrics at least every this many lookups while a burst keeps the mailbox busy.
_FLUSH_EVERY = 1024

#: Receipts waiting to be written to the store; past this, writes are dropped (counted).
WRITE_QUEUE = 1024


class Flight:
    """A proof in progress and the requests waiting for it (cache-owned): each waiter's
    reply slot and its own request (for its deadline, and its ids in log events); the
    first waiter is the one that started the proof. ``request`` is the one its job
    carries, with ``cancel``, the token that stops the proof."""

    __slots__ = ("cancel", "request", "waiters")

    def __init__(self, request: ProofRequest, reply: Reply, slot: int) -> None:
        self.cancel = CancelToken()
        self.request = attrs.evolve(request, cancel=self.cancel)
        self.waiters: list[tuple[Reply, int, ProofRequest]] = [(reply, slot, request)]

    def waited_for(self) -> bool:
        """True while some waiter has no answer yet."""
        return any(not reply.is_settled(slot) for reply, slot, _ in self.waiters)

    def restart(self, waiters: list[tuple[Reply, int, ProofRequest]]) -> ProofRequest:
        """Prove anew for ``waiters`` (after a refusal or a cancellation): the proof is now
        the first one's (its ids on the proof.* events, and it is answered as ``proved``),
        with the latest deadline among them (or none) and a fresh token. ``evolve`` keeps
        the request's ids."""
        self.waiters = waiters
        deadlines = [request.deadline for _, _, request in waiters]
        latest = None if None in deadlines else max(d for d in deadlines if d is not None)
        self.cancel = CancelToken()
        self.request = attrs.evolve(waiters[0][2], deadline=latest, cancel=self.cancel)
        return self.request


class _Entry:
    """A cached receipt and how a hit on it is described."""

    __slots__ = ("provenance", "receipt")

    def __init__(self, receipt: Receipt, provenance: Provenance | None) -> None:
        self.receipt = receipt
        self.provenance = provenance


class CacheActor:
    name = "cache"

    def __init__(
        self,
        config: RuntimeConfig,
        mailbox: MemoryObjectReceiveStream[Submission],
        completions: MemoryObjectReceiveStream[Completion],
        jobs: MemoryObjectSendStream[Job],
        sink: MetricsSink,
        store: StoreFront | None = None,
    ) -> None:
        self._config = config
        self._store_front = store
        self._writes: MemoryObjectSendStream[tuple[CacheKey, Receipt, int]] | None = None
        self._mailbox = mailbox
        self._completions = completions
        self._jobs = jobs
        self._sink = sink
        self._max_entries = config.cache_max_entries
        self._max_bytes = config.cache_max_bytes
        self._window_size = config.cache_window
        self._min_requests = config.cache_min_requests
        self._off_below = config.cache_off_below
        self._on_at = config.cache_on_at
        self._max_pending = config.max_pending_proofs
        # Survives restarts: jobs already started still complete, and each completion
        # must find its flight (to free its slot and answer anyone who joined since).
        self._flights: dict[CacheKey, Flight] = {}
        self._slot_freed = anyio.Event()
        # Tasks that may still send a job (a resend after a deadline refusal, a store
        # lookup): the estimator's mailbox is closed only once they are all done.
        self._resending = 0
        self._resent = anyio.Event()
        self._orphans: set[CacheKey] = set()
        self._task_group: anyio.abc.TaskGroup | None = None
        self._switches = 0
        self._evictions = 0
        self._reset_state()

    def _reset_state(self) -> None:
        self._store: OrderedDict[CacheKey, _Entry] = OrderedDict()
        self._store_bytes = 0
        self._shadow: OrderedDict[CacheKey, int] = OrderedDict()
        self._shadow_bytes = 0
        self._window: deque[int] = deque()
        self._window_hits = 0
        self._window_would = 0
        self._enabled = True
        self._in_hand: Submission | None = None
        self._tally = ReplyTally()
        self._accepted = 0
        self._unserved = 0
        # Lookups counted for the submission in hand (the rest is unserved if it crashes).
        self._looked = 0
        self._hits = 0
        self._misses = 0
        self._coalesced = 0
        self._would_be_hits = 0
        # Peaks since the last report, taken where they happen: a mailbox is deepest
        # just before a receive, the flights right after one is added.
        self._depth = 0
        self._completions_depth = 0
        self._pending_peak = 0
        self._dirty = False

    # ---- the actor ----

    async def run(self) -> None:
        writes, pending_writes = anyio.create_memory_object_stream[tuple[CacheKey, Receipt, int]](
            WRITE_QUEUE
        )
        try:
            async with anyio.create_task_group() as tg:
                self._task_group = tg
                if self._store_front is not None:
                    self._writes = writes
                    tg.start_soon(self._write_loop, self._store_front, pending_writes)
                tg.start_soon(self._completions_then_writes, writes)
                await self._serve()
        finally:
            self._task_group = None
            self._writes = None
            writes.close()
            pending_writes.close()

    async def _completions_then_writes(
        self, writes: MemoryObjectSendStream[tuple[CacheKey, Receipt, int]]
    ) -> None:
        await self._completion_loop()
        # No receipt will come any more: the writer finishes the queue and ends.
        writes.close()

    async def _write_loop(
        self,
        front: StoreFront,
        pending: MemoryObjectReceiveStream[tuple[CacheKey, Receipt, int]],
    ) -> None:
        async for key, receipt, cycles in pending:
            await front.save(key, receipt, cycles)
            self._flush_store()

    async def _serve(self) -> None:
        await self._request_loop()
        # Jobs proved anew after a deadline refusal, and store lookups, are still on
        # their way (each may yet send a job).
        while self._resending:
            self._resent = anyio.Event()
            await self._resent.wait()
        # No request will come any more: let the estimator finish and close down.
        # The completion loop ends once the last job's completion has arrived.
        self._jobs.close()

    async def _request_loop(self) -> None:
        mailbox = self._mailbox
        while True:
            try:
                submission = mailbox.receive_nowait()
            except anyio.WouldBlock:
                self._flush()
                try:
                    submission = await mailbox.receive()
                except anyio.EndOfStream:
                    break
            except anyio.EndOfStream:
                break
            self._receive(submission)
            # This one and those still queued behind it.
            depth = depth_before_receive(mailbox)
            if depth > self._depth:
                self._depth = depth
            self._in_hand = submission
            self._looked = 0
            await self._lookup(submission)
            self._in_hand = None
            if self._hits + self._misses + self._coalesced >= _FLUSH_EVERY:
                self._flush()
        self._flush()

    def _receive(self, submission: Submission) -> None:
        """Count ``submission`` as accepted: here, where it is taken from the mailbox, and
        nowhere else, since the sender cannot always tell whether it was delivered."""
        count = len(submission.requests)
        reply = submission.reply
        reply.mark_received(submission.offset, count)
        self._accepted += count
        self._dirty = True
        # Requests their callers answered before this (a deadline, or the caller left):
        # their answers count from now, as they are accepted (ZkRuntime._answer_here).
        now = time.perf_counter()
        for slot in range(submission.offset, submission.offset + count):
            if reply.is_settled(slot):
                self._tally.record(reply.outcome(slot), now - reply.started)

    async def _lookup(self, submission: Submission) -> None:
        reply = submission.reply
        slot = submission.offset
        store = self._store
        flights = self._flights
        now = time.perf_counter()
        self._dirty = True
        logger = _debug.logger()
        for request in submission.requests:
            key = request.key
            # Checked per request: any lookup (or a wait below) may switch the cache.
            entry = store.get(key) if self._enabled else None
            if entry is not None:
                receipt = entry.receipt
                store.move_to_end(key)
                self._touch_shadow(key, receipt)
                self._hits += 1
                self._looked += 1
                if reply.settle(slot, receipt, entry.provenance):
                    self._tally.record(receipt, now - reply.started)
                    if logger is not None:
                        bound = for_request(logger, request)
                        bound.debug(
                            "request.cache_hit",
                            program=key.program_hash[:16],
                            inputs=key.inputs,
                            profile=key.profile,
                        )
                        _replied(bound, request, "cache", now - reply.started, receipt)
                self._observe(_HIT | _WOULD)
            elif (flight := flights.get(key)) is not None:
                flight.waiters.append((reply, slot, request))
                self._coalesced += 1
                self._looked += 1
                if logger is not None:
                    # ``joined``: the request whose proof (and its proof.* events) this
                    # one shares.
                    for_request(logger, request).debug(
                        "request.coalesced",
                        program=key.program_hash[:16],
                        inputs=key.inputs,
                        profile=key.profile,
                        waiters=len(flight.waiters),
                        joined=flight.request.request_id,
                    )
            else:
                if key in self._shadow:
                    self._shadow.move_to_end(key)
                    self._would_be_hits += 1
                    self._observe(_WOULD)
                else:
                    self._observe(0)
                self._misses += 1
                self._looked += 1
                if logger is not None:
                    for_request(logger, request).debug(
                        "request.miss",
                        program=key.program_hash[:16],
                        inputs=key.inputs,
                        profile=key.profile,
                        cache_enabled=self._enabled,
                    )
                if reply.is_settled(slot):
                    # Its caller has already gone (or its deadline answered it): a miss,
                    # but no proof to start for nobody.
                    slot += 1
                    continue
                while len(flights) >= self._max_pending:
                    # At the cap: wait for a completion. Emit first, since callers run now.
                    self._flush()
                    self._slot_freed = anyio.Event()
                    await self._slot_freed.wait()
                if reply.is_settled(slot):
                    slot += 1  # its caller left while it waited for room
                    continue
                if (flight := flights.get(key)) is not None:
                    # Started by another request while this one waited for room.
                    flight.waiters.append((reply, slot, request))
                    slot += 1
                    continue
                flight = flights[key] = Flight(request, reply, slot)
                if len(flights) > self._pending_peak:
                    self._pending_peak = len(flights)
                front = self._store_front
                if front is not None:
                    if front.available():
                        # Asked in a task: the next request need not wait for the store.
                        assert self._task_group is not None
                        self._resending += 1
                        self._task_group.start_soon(self._look_up, front, request)
                        slot += 1
                        continue
                    front.stats.skipped += 1  # backing off after a failure
                try:
                    await self._send_job(Job(flight.request))
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    # The estimator has stopped (the runtime is being left by
                    # cancellation): this flight will never be proved.
                    self._complete(Completion(key, self._closed_error()))
                now = time.perf_counter()
            slot += 1

    async def _send_job(self, job: Job) -> None:
        """Hand ``job`` to the estimator, flushing this actor's pending events before
        waiting for room (the wait may be long, and they must not go stale meanwhile)."""
        try:
            self._jobs.send_nowait(job)
        except anyio.WouldBlock:
            self._flush()
            await self._jobs.send(job)

    async def _look_up(self, front: StoreFront, request: ProofRequest) -> None:
        """Ask the store for ``request``'s receipt: answer its flight with it, or send
        the job on (``front.lookup`` never raises but for cancellation)."""
        key = request.key
        try:
            hit = await front.lookup(key, request.program)
            flight = self._flights.get(key)
            if flight is not None:
                if hit is not None:
                    self._answer_from_store(key, flight, hit)
                else:
                    await self._send_job(Job(flight.request))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._complete(Completion(key, self._closed_error()))
        except BaseException:
            # Cancelled (the actor crashed or stops): no job will complete this flight,
            # so on_crash / on_stop must drop it after answering its waiters.
            self._orphans.add(key)
            raise
        finally:
            self._resending -= 1
            self._resent.set()
        self._flush_store()
        self._flush()

    def _answer_from_store(self, key: CacheKey, flight: Flight, hit: StoreHit) -> None:
        self._flights.pop(key, None)
        self._slot_freed.set()
        self._dirty = True
        receipt = hit.receipt
        info = ProofInfo(
            hit.cycles, receipt.trace_length, receipt.trace_width, 0, 0.0, 0.0, 0.0, receipt.air
        )
        provenance = Provenance("store", info)
        now = time.perf_counter()
        logger = _debug.logger()
        for reply, slot, _ in flight.waiters:
            if reply.settle(slot, receipt, provenance):
                self._tally.record(receipt, now - reply.started)
                if logger is not None:
                    _replied(logger, flight.request, "store", now - reply.started, receipt)
        self._remember(key, receipt, info)

    async def _completion_loop(self) -> None:
        completions = self._completions
        while True:
            try:
                completion = completions.receive_nowait()
            except anyio.WouldBlock:
                self._flush()
                try:
                    completion = await completions.receive()
                except anyio.EndOfStream:
                    return
            except anyio.EndOfStream:
                return
            depth = depth_before_receive(completions)
            if depth > self._completions_depth:
                self._completions_depth = depth
            self._complete(completion)

    def waiters_left(self, keys: Iterable[CacheKey]) -> None:
        """Callers waiting for these keys have gone (each answered its own slot first):
        cancel the proof of every such flight that no unanswered waiter is left for.

        Called synchronously by the runtime from the caller's task on the event loop
        thread, so it never interleaves with a state change of this actor; it only reads
        the flights and cancels tokens (a token is a thread-safe flag, not cache state).
        """
        for key in keys:
            flight = self._flights.get(key)
            if flight is not None and not flight.cancel.cancelled and not flight.waited_for():
                flight.cancel.cancel()
                logger = _debug.logger()
                if logger is not None:
                    for_request(logger, flight.request).debug(
                        "proof.cancelling",
                        program=key.program_hash[:16],
                        inputs=key.inputs,
                        waiters=len(flight.waiters),
                    )

    def _complete(self, completion: Completion) -> None:
        key, outcome = completion.key, completion.outcome
        flight = self._flights.get(key)
        refused = completion.refused_deadline
        if (
            flight is not None
            and refused is not None
            and self._answer_refused(flight, refused, outcome)
        ):
            return  # proved anew for the waiters that can still wait
        if flight is not None and isinstance(outcome, ProofCancelled):
            remaining = [w for w in flight.waiters if not w[0].is_settled(w[1])]
            if remaining:
                # They joined after the token was cancelled: their proof starts again.
                self._resend(Job(flight.restart(remaining)))
                return
        self._flights.pop(key, None)
        self._slot_freed.set()
        if flight is None:
            return
        self._dirty = True
        now = time.perf_counter()
        tally = self._tally
        info = completion.info
        proved = coalesced = None
        if info is not None:
            proved = Provenance("proved", info)
            coalesced = Provenance("coalesced", info)
        logger = _debug.logger()
        failed = isinstance(outcome, BaseException)
        for index, (reply, slot, request) in enumerate(flight.waiters):
            provenance = proved if index == 0 else coalesced
            if reply.settle(slot, outcome, provenance):
                tally.record(outcome, now - reply.started)
                if logger is not None:
                    # A coalesced request shared the attempt, whichever way it ended.
                    source = "coalesced" if index else "failed" if failed else "proved"
                    bound = for_request(logger, request)
                    _replied(bound, request, source, now - reply.started, outcome)
        if isinstance(outcome, Receipt):
            self._remember(key, outcome, info)
            if self._writes is not None and info is not None:
                self._queue_write(key, outcome, info.cycles)

    def _queue_write(self, key: CacheKey, receipt: Receipt, cycles: int) -> None:
        """Hand a new receipt to the writer (after its replies: never waits)."""
        assert self._writes is not None and self._store_front is not None
        try:
            self._writes.send_nowait((key, receipt, cycles))
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._store_front.stats.writes_dropped += 1

    def _answer_refused(self, flight: Flight, deadline: float, error: Outcome) -> bool:
        """Answer the waiters of a job refused for ``deadline`` whose own deadline is no
        later; if others remain, send the job again with the latest deadline among them
        (or none) and return True."""
        now = time.perf_counter()
        remaining = []
        logger = _debug.logger()
        for reply, slot, request in flight.waiters:
            own = request.deadline
            if own is not None and own <= deadline:
                if reply.settle(slot, error):
                    self._tally.record(error, now - reply.started)
                    if logger is not None:
                        bound = for_request(logger, request)
                        _replied(bound, request, "refused", now - reply.started, error)
            else:
                remaining.append((reply, slot, request))
        self._dirty = True
        if not remaining:
            return False
        self._resend(Job(flight.restart(remaining)))
        return True

    def _resend(self, job: Job) -> None:
        """Send ``job`` to the estimator without blocking the completion loop."""
        try:
            self._jobs.send_nowait(job)
            return
        except anyio.WouldBlock:
            pass
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._complete(Completion(job.request.key, self._closed_error()))
            return
        assert self._task_group is not None
        self._resending += 1
        self._task_group.start_soon(self._send_later, job)

    async def _send_later(self, job: Job) -> None:
        try:
            await self._jobs.send(job)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._complete(Completion(job.request.key, self._closed_error()))
        except BaseException:
            # Cancelled (the actor crashed or stops): no job will complete this flight,
            # so on_crash / on_stop must drop it after answering its waiters.
            self._orphans.add(job.request.key)
            raise
        finally:
            self._resending -= 1
            self._resent.set()

    @staticmethod
    def _closed_error() -> ZkActorsError:
        from zkactors.errors import RuntimeClosed

        return RuntimeClosed("the runtime shut down before this request was answered")

    # ---- the store and its shadow ----

    def _touch_shadow(self, key: CacheKey, receipt: Receipt) -> None:
        if key in self._shadow:
            self._shadow.move_to_end(key)
        else:
            # The shadow sees more keys than the store (it keeps learning while the
            # store is off), so it may have let go of a key the store still holds.
            self._add_to_shadow(key, receipt.size)

    def _add_to_shadow(self, key: CacheKey, size: int) -> None:
        self._shadow[key] = size
        self._shadow_bytes += size
        while len(self._shadow) > self._max_entries or self._shadow_bytes > self._max_bytes:
            _, evicted = self._shadow.popitem(last=False)
            self._shadow_bytes -= evicted

    def _remember(self, key: CacheKey, receipt: Receipt, info: ProofInfo | None) -> None:
        size = receipt.size
        if self._max_entries == 0 or size > self._max_bytes:
            return
        if key not in self._shadow:
            self._add_to_shadow(key, size)
        if self._enabled and key not in self._store:
            provenance = None if info is None else Provenance("cache", info)
            self._store[key] = _Entry(receipt, provenance)
            self._store_bytes += size
            while len(self._store) > self._max_entries or self._store_bytes > self._max_bytes:
                evicted, old = self._store.popitem(last=False)
                self._store_bytes -= old.receipt.size
                self._evictions += 1
                logger = _debug.logger()
                if logger is not None:
                    logger.debug(
                        "cache.evicted",
                        program=evicted.program_hash[:16],
                        inputs=evicted.inputs,
                        bytes=old.receipt.size,
                        entries=len(self._store),
                        cache_bytes=self._store_bytes,
                    )

    def _observe(self, outcome: int) -> None:
        window = self._window
        if len(window) == self._window_size:
            old = window.popleft()
            self._window_hits -= old >> 1
            self._window_would -= old & _WOULD
        window.append(outcome)
        self._window_hits += outcome >> 1
        self._window_would += outcome & _WOULD
        seen = len(window)
        if seen < self._min_requests:
            return
        would_rate = self._window_would / seen
        if self._enabled and would_rate < self._off_below:
            self._switch(False, would_rate)
        elif not self._enabled and would_rate >= self._on_at:
            self._switch(True, would_rate)

    def _switch(self, enabled: bool, would_rate: float) -> None:
        self._enabled = enabled
        self._switches += 1
        seen = len(self._window)
        log.info(
            "cache.enabled" if enabled else "cache.disabled",
            would_be_hit_rate=round(would_rate, 4),
            hit_rate=round(self._window_hits / seen, 4),
            window=seen,
            threshold=self._on_at if enabled else self._off_below,
            entries=len(self._store),
            bytes=self._store_bytes,
        )
        if not enabled:
            # Off means storing nothing: the receipts go, the shadow's keys stay.
            self._store.clear()
            self._store_bytes = 0

    # ---- metrics ----

    def _flush_store(self) -> None:
        front = self._store_front
        if front is None or not front.stats:
            return
        stats = front.stats
        self._sink.emit(
            StoreReport(
                stats.hits,
                stats.misses,
                stats.errors,
                stats.rejected,
                stats.skipped,
                stats.writes,
                stats.write_errors,
                stats.writes_dropped,
                tuple(stats.latencies),
            )
        )
        stats.clear()

    def _flush(self) -> None:
        self._flush_store()
        if not self._dirty:
            return
        self._dirty = False
        tally = self._tally
        seen = len(self._window)
        self._sink.emit(
            CacheReport(
                self._accepted,
                self._unserved,
                self._hits,
                self._misses,
                self._coalesced,
                self._would_be_hits,
                self._depth,
                self._completions_depth,
                self._pending_peak,
                tally.receipts,
                tuple(tally.failures.items()),
                tuple(tally.latencies),
                self._enabled,
                self._window_hits / seen if seen else 0.0,
                self._window_would / seen if seen else 0.0,
                seen,
                len(self._store),
                self._store_bytes,
                self._evictions,
                self._switches,
            )
        )
        self._hits = self._misses = self._coalesced = self._would_be_hits = 0
        self._accepted = self._unserved = 0
        self._depth = self._completions_depth = self._pending_peak = 0
        tally.clear()

    # ---- supervision ----

    def on_crash(self, error: ZkActorsError) -> None:
        """Fail every waiting request and the submission in hand; start afresh.

        Flights stay (without waiters): their jobs are still running and will complete
        here, freeing their slots; requests arriving meanwhile join them. A flight whose
        job was being sent again (after a deadline refusal) when the crash cancelled the
        send has no job left: it goes."""
        tally = self._tally
        for flight in self._flights.values():
            for reply, slot, _ in flight.waiters:
                if reply.settle(slot, error):
                    tally.record(error, 0.0)
            flight.waiters.clear()
        if self._in_hand is not None:
            submission = self._in_hand
            self._unserved += len(submission.requests) - self._looked
            self._in_hand = None
            for slot in range(submission.offset, submission.offset + len(submission.requests)):
                if submission.reply.settle(slot, error):
                    tally.record(error, 0.0)
        for key in self._orphans:
            self._flights.pop(key, None)
        self._orphans.clear()
        self._slot_freed.set()
        self._dirty = True
        self._flush()

    def on_stop(self, error: ZkActorsError) -> None:
        """As :meth:`on_crash`, and fail what still waits in the mailbox."""
        self.on_crash(error)
        tally = self._tally
        while True:
            try:
                submission = self._mailbox.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                break
            # Accepted (it reached the cache), answered without a lookup.
            self._receive(submission)
            self._unserved += len(submission.requests)
            for slot in range(submission.offset, submission.offset + len(submission.requests)):
                if submission.reply.settle(slot, error):
                    tally.record(error, 0.0)
        self._dirty = True
        self._flush()
        self._mailbox.close()
        self._jobs.close()

    def reset(self) -> None:
        self._reset_state()

    def depth_probe(self) -> int:
        return self._mailbox.statistics().current_buffer_used

    def completions_probe(self) -> int:
        return self._completions.statistics().current_buffer_used

    def pending_probe(self) -> int:
        return len(self._flights)


def _replied(
    logger: structlog.stdlib.BoundLogger,
    request: ProofRequest,
    source: str,
    latency: float,
    outcome: object,
) -> None:
    """The ``request.replied`` debug event; ``logger`` is bound to the request's ids.
    ``source``: ``cache``, ``proved``, ``failed`` (the proof it started failed),
    ``coalesced`` (it shared another request's proof) or ``refused`` (at admission)."""
    key = request.key
    fields: dict[str, object] = {
        "program": key.program_hash[:16],
        "inputs": key.inputs,
        "profile": key.profile,
        "source": source,
        "latency_s": round(latency, 6),
    }
    if isinstance(outcome, BaseException):
        fields["error_type"] = type(outcome).__name__
    logger.debug("request.replied", **fields)
