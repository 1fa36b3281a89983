"""The cost model: how long a proof will take, and how much memory it will hold.

The original performance report's finding 2: a hand-tuned per-step formula was off by
40-188 % on large tasks. The fix has three parts.

**Exact size.** The estimator executes the program first, so the trace length ``T`` is
known, not guessed; the width ``w`` (one column per register, instruction and branch) and
the constraint count ``C`` come from the program, and the blowup ``B``, queries and
grinding bits from the security profile. :class:`ProofShape` holds them.

**Cost drivers as features.** The prover's steps (protocol.md 8) each grow with a known
expression of that shape, with ``N = B * T`` the size of the low-degree-extension domain
and ``L = log2 N``: the trace LDE is ``w`` NTTs (``N L w``), hashing the extended rows and
the DEEP quotient touch every cell (``N w``), evaluating the constraints on the extended
domain is ``N C``, the composition segments' NTTs are ``N L``, FRI folding and the
Merkle trees are ``N``, and a fixed cost remains (``1``). Predicted seconds are a
non-negative combination of these six features (:data:`FEATURES`), fitted per profile
and per thread count, because intra-proof threads speed the steps up unequally, and per
AIR (:mod:`zkactors.zkvm.airs`). A machine-AIR (AIR 2) proof's width in the features is
the base cells per row it commits less AIR 1's composition cells (``95 - 6 = 89``, not its
56 main columns), its ``C`` is 47; it costs more per cell than AIR 1 (its auxiliary columns
and constraints live in the extension field), so it has its own fit, started from the AIR
1 fit (:data:`AIR2_PRIOR_FACTOR` times its price of ``fib``'s shape) until AIR 2 proofs
were measured. The AIR and T come from the run (``Execution``), which names the AIR the
prover will use.

**Grinding apart.** The proof-of-work nonce search costs ``2^g`` hashes *on average*, but
any one proof's search is a geometric draw (a small proof at the default profile can
spend 0.4 ms or 6 ms grinding, with the rest of it taking 1 ms). No estimator can know the
draw before doing the work, so the model predicts its mean (:meth:`expected_grinding`),
learnt from the calibration's measured hash rate and the grinding times the prover
reports, and fits the other coefficients to the time *minus* the measured grinding, so
random draws do not pollute them.

**Calibrated, then refined.** :mod:`.calibration` times a few tiny real proofs at
start-up and starts the model from them (*anchors*); every measured proof then enters a
sliding window (:data:`WINDOW` proofs per profile, thread count and AIR, the recent ones
weighted most) and the coefficients are refitted by weighted non-negative least squares
on *relative* error (each proof weighted by ``1/seconds^2``, since a 10 % miss matters as
much on a 1 ms proof as on a 1 s one). Anchors fade as the window fills, so a machine
whose speed drifts (other load, thermal limits) is followed within a few dozen proofs. A
weak ridge towards a prior keeps the fit defined when every recent proof had the same
shape. What the features miss at a given size (on this machine, a trace whose working
set outgrows the last-level cache costs about 1.4x more per cell) is caught by a
residual correction per trace length, the recent proofs' measured-over-fitted ratio,
applied to that size (and half of it to its neighbours).

Proofs that run side by side share caches and memory bandwidth, so each takes longer
than it would alone (here about 1.2-1.5x for mid-size proofs). The supervisor says which
measured proofs had company; the model learns that slowdown apart (per profile and
thread count) and predicts either case, while its fit stays one of proofs alone.

Memory is not fitted: the native prover states its peak allocation as a formula of
``(w, T, profile, AIR)`` (``zkactors.zkvm.prover.memory_bytes``) and allocates exactly
that.

The model is owned by the estimator actor (which calls :meth:`observe`); ``ZkRuntime``
reads predictions from the same event-loop thread, never concurrently with an update.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Protocol

import attrs

from zkactors import profiles
from zkactors.zkvm.airs import (
    MACHINE,
    MACHINE_CELLS,
    MACHINE_CONSTRAINTS,
    MACHINE_WIDTH,
    REGISTER,
    REGISTER_EXTRA_CELLS,
)
from zkactors.zkvm.program import Program

#: Names of the model's features, in order (see the module docstring).
FEATURES = ("fixed", "N", "N_logN", "N_w", "N_logN_w", "N_C")
#: Feature values are scaled by this (cells of a 2^20-point domain), so coefficients are
#: seconds per million units and the normal equations stay well conditioned.
UNIT = float(1 << 20)
#: Measured proofs kept per (profile, threads) for the fit.
WINDOW = 64
#: Weight of a proof ``age`` observations old: ``RECENCY ** age`` (half weight after ~23).
RECENCY = 0.97
#: Window size at which the calibration anchors weigh half as much as at the start.
ANCHOR_FADE = 2
#: Pseudo-observations the calibrated grinding mean is worth against measured ones.
GRIND_PRIOR_WEIGHT = 16.0
#: Seconds per grinding hash assumed before anything was measured (SHA-256 of 40 bytes
#: with the many-message kernel, on a 2020s x86 core).
DEFAULT_HASH_SECONDS = 4e-8
#: Parallel efficiency assumed for a thread count nothing was measured with.
DEFAULT_PARALLEL_EFFICIENCY = 0.7
#: Coefficients (seconds per UNIT of each feature, one thread) assumed before anything
#: was measured: the order of magnitude of this prover on a 2020s x86 core.
DEFAULT_COEFFICIENTS = (2e-4, 0.02, 0.004, 0.02, 0.002, 0.008)
#: Strength of the ridge towards the prior, relative to the data's own scale.
RIDGE = 1e-4
#: Weight in the fit of a proof that ran beside others, against one that ran alone.
SHARED_WEIGHT = 0.25


#: The machine AIR's main width and constraint count (protocol.md 13, 14).
AIR2_WIDTH = MACHINE_WIDTH
AIR2_CONSTRAINTS = MACHINE_CONSTRAINTS
#: The width an AIR 2 proof's cost features use: the base cells per row it commits (95)
#: less the six of AIR 1's two composition segments, which the ``N`` and ``N_logN``
#: features carry. So ``cost_width + 6`` is the committed-cells figure of protocol.md 17
#: under either AIR.
AIR2_COST_WIDTH = MACHINE_CELLS - REGISTER_EXTRA_CELLS
#: The AIR 1 shape AIR 2's prior is priced against: ``fib``'s (w = 14, C = 29), the
#: calibration's most measured width, where an AIR 1 fit is reliable (a fit of widths
#: 9-19 says little about width 89, so AIR 2 is not priced as AIR 1 at its cost width).
AIR2_REFERENCE_WIDTH = 14
AIR2_REFERENCE_CONSTRAINTS = 29
#: Until AIR 2 proofs were measured, one costs this many times an AIR 1 proof of the
#: reference shape with the same T and profile. Measured with ``zkactors bench prove
#: --air 1,2`` (``fib`` under both AIRs, best of 3, grinding apart) on a 2-core AMD EPYC
#: (AVX-512): 6.2-6.5 at the test profile and 5.2-5.5 at default, for T = 2^10 .. 2^16,
#: and 3.9-6.5 with main's later AIR 2 speed-ups (constant columns, lazy compressions; on
#: a busier machine); that is 0.8-1.4 times the ratio of committed cells, 95 / (14 + 6)
#: (AIR 2's constraints are evaluated in the extension field over a 4T coset, and its
#: auxiliary columns are in K). The calibration proves small AIR 2 runs as well, so a calibrated
#: runtime uses this only when those were skipped.
AIR2_PRIOR_FACTOR = 6.0


@functools.lru_cache(maxsize=512)
def _constraint_count(canonical: bytes) -> int:
    from zkactors._native.prover import Air

    return int(Air(canonical).n_constraints)


def constraint_count(program: Program) -> int:
    """The number of AIR constraints of ``program`` (transition, first and last row), as
    the native prover evaluates them (memoized by program)."""
    return _constraint_count(program.to_bytes())


class RunShape(Protocol):
    """What a run tells the cost model: the AIR its proof is under and that AIR's trace
    length (:class:`zkactors.zkvm.execute.Execution` before a proof,
    :class:`zkactors.zkvm.prover.ProveStats` after one)."""

    @property
    def trace_length(self) -> int: ...

    @property
    def air(self) -> int: ...


@attrs.frozen
class ProofShape:
    """What a proof's cost depends on: the profile and the trace's shape.

    ``trace_length`` is T (a power of two), ``trace_width`` w, ``constraints`` C, ``air``
    the AIR the proof is under (1: register AIR; 2: machine AIR, w = 56 and C = 47).
    """

    profile: str
    trace_length: int
    trace_width: int
    constraints: int
    air: int = REGISTER

    @classmethod
    def of(cls, program: Program, run: RunShape, profile: str) -> ProofShape:
        """The shape of the proof of ``run`` of ``program``: under the AIR and with the
        trace length the run names (``Execution`` or ``ProveStats``: the AIR the prover
        uses, by the rule of :mod:`zkactors.zkvm.airs`).

        :raises ValueError: if the run names AIR 1 for a program only AIR 2 expresses, or
            an AIR that does not exist.
        """
        if run.air == MACHINE:
            return cls(profile, run.trace_length, AIR2_WIDTH, AIR2_CONSTRAINTS, air=MACHINE)
        if run.air != REGISTER:
            raise ValueError(f"air must be 1 or 2, got {run.air!r}")
        if not program.fits_register_air:
            raise ValueError("the register AIR (AIR 1) cannot express this program")
        return cls(profile, run.trace_length, program.trace_width, constraint_count(program))

    @property
    def lde_size(self) -> int:
        """N = blowup * T, the low-degree-extension domain every heavy step runs over."""
        return profiles.get(self.profile).blowup * self.trace_length

    @property
    def cost_width(self) -> int:
        """The width the cost features use: w under AIR 1; under AIR 2 its committed
        cells per row less AIR 1's six composition cells, 95 - 6 = 89 (not its 56 main
        columns: its ten auxiliary columns in K and third composition segment are
        committed, extended and hashed as well)."""
        return AIR2_COST_WIDTH if self.air == MACHINE else self.trace_width

    def features(self) -> tuple[float, ...]:
        """The values of :data:`FEATURES` for this shape."""
        n = self.lde_size / UNIT
        log_n = math.log2(self.lde_size)
        width = self.cost_width
        return (
            1.0,
            n,
            n * log_n,
            n * width,
            n * log_n * width,
            n * self.constraints,
        )

    def peak_bytes(self) -> int:
        """Peak bytes the native prover allocates for this proof (its own formula)."""
        from zkactors.zkvm.prover import memory_bytes

        return memory_bytes(self.trace_width, self.trace_length, self.profile, air=self.air)


class CostModel(Protocol):
    """Predicts a proof's wall time and learns from measured ones."""

    def predict(self, shape: ProofShape, threads: int = 1, *, shared: bool = False) -> float:
        """Seconds a proof of ``shape`` should take with ``threads`` intra-proof threads,
        alone or (``shared``) while other proofs run beside it."""
        ...

    def observe(
        self,
        shape: ProofShape,
        threads: int,
        seconds: float,
        *,
        grinding_seconds: float | None = None,
        shared: bool = False,
    ) -> None:
        """Learn from one measured proof (``grinding_seconds``: the part of ``seconds``
        spent grinding, when the prover reported it; ``shared``: other proofs ran beside
        it for some of the time)."""
        ...


# ---- weighted non-negative least squares ----


def _solve(matrix: list[list[float]], rhs: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; None if (near) singular."""
    size = len(rhs)
    a = [[*row, r] for row, r in zip(matrix, rhs, strict=True)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(a[r][col]))
        scale = max(abs(a[r][col]) for r in range(size)) or 1.0
        if abs(a[pivot][col]) <= 1e-14 * scale:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, size):
            factor = a[r][col] / a[col][col]
            if factor:
                row, top = a[r], a[col]
                for c in range(col, size + 1):
                    row[c] -= factor * top[c]
    x = [0.0] * size
    for r in range(size - 1, -1, -1):
        x[r] = (a[r][size] - sum(a[r][c] * x[c] for c in range(r + 1, size))) / a[r][r]
    return x


def fit_nonnegative(
    rows: Sequence[Sequence[float]],
    targets: Sequence[float],
    weights: Sequence[float],
    prior: Sequence[float],
    ridge: float = RIDGE,
) -> tuple[float, ...]:
    """Non-negative coefficients ``b`` minimising
    ``sum_i weights_i (targets_i - rows_i . b)^2 + ridge * sum_j s_j (b_j - prior_j)^2``,
    where ``s_j`` is feature j's weighted mean square (so ``ridge`` is scale-free).

    A feature whose coefficient comes out negative is fixed at 0 and the rest refitted
    (an active-set method: a cost that shrinks as the work grows is noise, not physics).
    With no rows the prior is returned.
    """
    width = len(prior)
    if not rows:
        return tuple(max(0.0, p) for p in prior)
    total_weight = sum(weights) or 1.0
    gram = [[0.0] * width for _ in range(width)]
    moment = [0.0] * width
    for x, y, w in zip(rows, targets, weights, strict=True):
        for j in range(width):
            wx = w * x[j]
            if wx == 0.0:
                continue
            moment[j] += wx * y
            row = gram[j]
            for k in range(j, width):
                row[k] += wx * x[k]
    for j in range(width):
        for k in range(j):
            gram[j][k] = gram[k][j]
    scales = [gram[j][j] / total_weight or 1e-30 for j in range(width)]
    active = list(range(width))
    while active:
        matrix = [[gram[j][k] for k in active] for j in active]
        rhs = [moment[j] for j in active]
        for i, j in enumerate(active):
            matrix[i][i] += ridge * scales[j] * total_weight
            rhs[i] += ridge * scales[j] * total_weight * prior[j]
        solution = _solve(matrix, rhs)
        if solution is None:
            break
        negative = [(value, j) for value, j in zip(solution, active, strict=True) if value < 0]
        if not negative:
            coefficients = [0.0] * width
            for value, j in zip(solution, active, strict=True):
                coefficients[j] = value
            return tuple(coefficients)
        active.remove(min(negative)[1])
    return tuple(max(0.0, p) for p in prior)


# ---- the calibrated model ----


@attrs.frozen
class Sample:
    """One measured proof: its shape, thread count, wall seconds, the part of them spent
    grinding (None when the prover did not report it), and whether other proofs ran
    beside it."""

    shape: ProofShape
    threads: int
    seconds: float
    grinding_seconds: float | None = None
    shared: bool = False


class _Contention:
    """Measured over predicted-alone time of proofs that ran beside others: a recency-
    weighted geometric mean, starting from 1 with the weight of a few observations."""

    __slots__ = ("log_sum", "weight")

    PRIOR_WEIGHT = 1.0

    def __init__(self) -> None:
        self.log_sum = 0.0
        self.weight = self.PRIOR_WEIGHT

    def observe(self, ratio: float) -> None:
        ratio = min(4.0, max(0.5, ratio))
        self.log_sum = self.log_sum * RECENCY + math.log(ratio)
        self.weight = self.weight * RECENCY + 1.0

    @property
    def factor(self) -> float:
        return math.exp(self.log_sum / self.weight)


#: A fit's key: (profile, threads, air).
_Key = tuple[str, int, int]


class _Series:
    """The data behind one (profile, threads, air) fit: ``(features, seconds, log2 T,
    weight)`` of the calibration's anchors and of the recent window; the fitted
    coefficients and, per log2 T seen in the window, the residual correction."""

    __slots__ = ("anchors", "coefficients", "corrections", "dirty", "samples", "window")

    def __init__(self) -> None:
        self.anchors: list[tuple[tuple[float, ...], float, int, float]] = []
        self.window: deque[tuple[tuple[float, ...], float, int, float]] = deque(maxlen=WINDOW)
        self.samples: deque[Sample] = deque(maxlen=WINDOW)
        self.coefficients: tuple[float, ...] | None = None
        self.corrections: dict[int, float] = {}
        self.dirty = False

    def __len__(self) -> int:
        return len(self.anchors) + len(self.window)


class _GrindMean:
    """The mean grinding time of one (profile, threads): a prior worth
    ``GRIND_PRIOR_WEIGHT`` observations, plus exponentially forgotten observations."""

    __slots__ = ("prior", "sum", "weight")

    def __init__(self, prior: float) -> None:
        self.prior = prior
        self.sum = 0.0
        self.weight = 0.0

    def observe(self, seconds: float) -> None:
        self.sum = self.sum * 0.99 + seconds
        self.weight = self.weight * 0.99 + 1.0

    @property
    def mean(self) -> float:
        return (self.prior * GRIND_PRIOR_WEIGHT + self.sum) / (GRIND_PRIOR_WEIGHT + self.weight)


class CalibratedCostModel:
    """The runtime's default :class:`CostModel` (see the module docstring).

    Fits are kept per (profile, threads, AIR): an AIR 2 proof costs differently per cell
    (extension-field auxiliary columns, a degree-4 composition over a 4T coset), so the
    two AIRs never share coefficients. Until AIR 2 proofs of a profile were measured,
    its AIR 2 prior prices a proof at :data:`AIR2_PRIOR_FACTOR` times what the AIR 1 fit
    prices ``fib``'s shape at, at the same T (the calibration measures a few small AIR 2
    proofs too, so a calibrated runtime starts from those).
    Grinding (the same hashes under either AIR) and the slowdown beside other proofs are
    learnt per (profile, threads).

    :param hash_seconds: measured seconds per grinding hash on one thread (the
        calibration measures it); ``None``: :data:`DEFAULT_HASH_SECONDS`.
    :param prior: AIR 1 coefficients assumed for a profile nothing was measured for
        (AIR 2's prior is derived from AIR 1's coefficients).
    :param window: measured proofs kept per (profile, threads).
    :param recency: weight factor per observation of age.
    :param ridge: strength of the pull towards the prior.
    """

    def __init__(
        self,
        *,
        hash_seconds: float | None = None,
        prior: Sequence[float] = DEFAULT_COEFFICIENTS,
        window: int = WINDOW,
        recency: float = RECENCY,
        ridge: float = RIDGE,
    ) -> None:
        if len(prior) != len(FEATURES):
            raise ValueError(f"prior needs {len(FEATURES)} coefficients, got {len(prior)}")
        self.hash_seconds = hash_seconds or DEFAULT_HASH_SECONDS
        self._prior = tuple(float(p) for p in prior)
        self._window = window
        self._recency = recency
        self._ridge = ridge
        self._series: dict[_Key, _Series] = {}
        self._grinding: dict[tuple[str, int], _GrindMean] = {}
        self._contention: dict[tuple[str, int], _Contention] = {}
        self.observations = 0

    # ---- learning ----

    def calibrate(self, samples: Iterable[Sample], *, hash_seconds: float | None = None) -> None:
        """Add calibration measurements as anchors (they fade as real proofs arrive)."""
        if hash_seconds is not None and hash_seconds > 0:
            self.hash_seconds = hash_seconds
            self._grinding.clear()
        shared: list[Sample] = []
        for sample in samples:
            if not _usable(sample.seconds):
                continue
            if sample.shared:
                shared.append(sample)  # they teach the slowdown, once the fit exists
                continue
            key = (sample.shape.profile, sample.threads)
            series = self._series_for((*key, sample.shape.air))
            series.anchors.append(
                (
                    sample.shape.features(),
                    self._deterministic(sample, key, learn=True),
                    _log2(sample.shape.trace_length),
                    1.0,
                )
            )
            series.dirty = True
        for sample in shared:
            key = (sample.shape.profile, sample.threads)
            if self.coefficients(*key, air=sample.shape.air) is None:
                continue
            alone = self._deterministic_prediction(sample.shape, sample.threads)
            if alone > 0:
                ratio = self._deterministic(sample, key, learn=False) / alone
                self._contention_for(key).observe(ratio)

    def observe(
        self,
        shape: ProofShape,
        threads: int,
        seconds: float,
        *,
        grinding_seconds: float | None = None,
        shared: bool = False,
    ) -> None:
        if not _usable(seconds) or threads < 1:
            return
        key = (shape.profile, threads)
        series = self._series_for((*key, shape.air))
        sample = Sample(shape, threads, seconds, grinding_seconds, shared)
        deterministic = self._deterministic(sample, key, learn=True)
        if shared:
            # What running beside other proofs cost this one (shared caches and memory
            # bandwidth); the fit itself stays one of proofs running alone.
            alone = self._deterministic_prediction(shape, threads)
            contention = self._contention_for(key)
            fitted = self.coefficients(shape.profile, threads, air=shape.air)
            if alone > 0 and fitted is not None:
                contention.observe(deterministic / alone)
            deterministic /= contention.factor
        # A shared proof, brought back to "alone" by a factor still being learnt, counts
        # a quarter as much as a proof that ran alone.
        weight = SHARED_WEIGHT if shared else 1.0
        series.window.append((shape.features(), deterministic, _log2(shape.trace_length), weight))
        series.samples.append(sample)
        series.dirty = True
        self.observations += 1

    def _contention_for(self, key: tuple[str, int]) -> _Contention:
        contention = self._contention.get(key)
        if contention is None:
            contention = self._contention[key] = _Contention()
        return contention

    def contention(self, profile: str, threads: int = 1) -> float:
        """How much slower a (``profile``, ``threads``) proof runs beside other proofs
        than alone (1.0 until measured)."""
        contention = self._contention.get((profile, threads))
        return 1.0 if contention is None else contention.factor

    def _series_for(self, key: _Key) -> _Series:
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series()
            if self._window != WINDOW:
                series.window = deque(maxlen=self._window)
                series.samples = deque(maxlen=self._window)
        return series

    def _deterministic(self, sample: Sample, key: tuple[str, int], *, learn: bool) -> float:
        """The sample's seconds without its grinding draw (learning the grinding mean
        from it when the prover reported it)."""
        grind = sample.grinding_seconds
        if grind is not None and math.isfinite(grind) and grind >= 0:
            if learn and profiles.get(key[0]).grinding_bits:
                self._grind_mean(key).observe(grind)
            rest = sample.seconds - grind
        else:
            rest = sample.seconds - self.expected_grinding(key[0], key[1])
        # Never below a tenth of the measurement: a draw far under its mean must not
        # teach the model that proofs cost nothing.
        return max(rest, 0.1 * sample.seconds)

    def recent_samples(self) -> list[Sample]:
        """The measured proofs in the windows (what a later model may start from)."""
        return [sample for series in self._series.values() for sample in series.samples]

    # ---- predicting ----

    def expected_grinding(self, profile: str, threads: int = 1) -> float:
        """Mean seconds of the proof-of-work search of ``profile`` with ``threads``."""
        if profiles.get(profile).grinding_bits == 0:
            return 0.0
        return self._grind_mean((profile, threads)).mean

    def _grind_mean(self, key: tuple[str, int]) -> _GrindMean:
        mean = self._grinding.get(key)
        if mean is None:
            bits = profiles.get(key[0]).grinding_bits
            single = (1 << bits) * self.hash_seconds
            mean = self._grinding[key] = _GrindMean(single / _speedup(key[1]))
        return mean

    def coefficients(
        self, profile: str, threads: int = 1, *, air: int = REGISTER
    ) -> tuple[float, ...] | None:
        """The fitted coefficients of (``profile``, ``threads``) proofs under ``air``
        (seconds per :data:`UNIT` of each of :data:`FEATURES`), or None if nothing was
        measured."""
        series = self._series.get((profile, threads, air))
        if series is None or not len(series):
            return None
        if series.dirty or series.coefficients is None:
            series.coefficients = self._fit(series, self._prior_for(profile, threads, air))
            series.corrections = self._corrections(series, series.coefficients)
            series.dirty = False
        return series.coefficients

    def _prior_for(self, profile: str, threads: int, air: int = REGISTER) -> tuple[float, ...]:
        if threads != 1:
            single = self.coefficients(profile, 1, air=air)
            if single is not None:
                return tuple(c / _speedup(threads) for c in single)
        # Another profile's last fit of this AIR (not refitted here: two dirty profiles
        # would otherwise each ask the other for a prior): the features already scale
        # with the blowup, so it is a far better start than the built-in default.
        for (other, other_threads, other_air), series in self._series.items():
            if (
                other_threads == 1
                and other_air == air
                and other != profile
                and series.coefficients is not None
            ):
                return tuple(c / _speedup(threads) for c in series.coefficients)
        if air == MACHINE:
            # Nothing measured under AIR 2 yet: this profile's AIR 1 fit (or prior).
            register = self.coefficients(profile, threads) or self._prior_for(profile, threads)
            return _machine_prior(register)
        return tuple(c / _speedup(threads) for c in self._prior)

    def _fit(self, series: _Series, prior: tuple[float, ...]) -> tuple[float, ...]:
        rows: list[tuple[float, ...]] = []
        targets: list[float] = []
        weights: list[float] = []
        anchor_weight = 1.0 / (1.0 + len(series.window) / ANCHOR_FADE)
        for x, y, _, weight in series.anchors:
            rows.append(x)
            targets.append(y)
            weights.append(anchor_weight * weight / (y * y))
        age = len(series.window)
        for x, y, _, weight in series.window:
            age -= 1
            rows.append(x)
            targets.append(y)
            weights.append(self._recency**age * weight / (y * y))
        return fit_nonnegative(rows, targets, weights, prior, self._ridge)

    def _corrections(self, series: _Series, coefficients: tuple[float, ...]) -> dict[int, float]:
        """Per trace size in the window, the recency-weighted geometric mean of measured
        over fitted time: what the features miss at that size (a working set spilling
        out of the last-level cache, say), learnt from the proofs themselves."""
        sums: dict[int, tuple[float, float]] = {}
        age = len(series.window)
        for x, y, log_t, share in series.window:
            age -= 1
            fitted = _dot(coefficients, x)
            if fitted <= 0:
                continue
            weight = self._recency**age * share
            total, weights = sums.get(log_t, (0.0, 0.0))
            sums[log_t] = (total + weight * math.log(y / fitted), weights + weight)
        return {log_t: math.exp(total / weights) for log_t, (total, weights) in sums.items()}

    def correction(
        self, profile: str, threads: int, trace_length: int, *, air: int = REGISTER
    ) -> float:
        """The residual factor applied to (``profile``, ``threads``, ``air``) predictions
        of a ``trace_length``-row trace: that size's own; else half (in log terms) of a
        neighbouring size's, one doubling away (a residual partly carries over to the
        next size, partly is that size's noise); else 1."""
        series = self._series.get((profile, threads, air))
        if series is None or self.coefficients(profile, threads, air=air) is None:
            return 1.0
        log_t = _log2(trace_length)
        corrections = series.corrections
        if log_t in corrections:
            return corrections[log_t]
        near = [corrections[k] for k in (log_t - 1, log_t + 1) if k in corrections]
        return math.exp(0.5 * sum(map(math.log, near)) / len(near)) if near else 1.0

    def _deterministic_prediction(self, shape: ProofShape, threads: int) -> float:
        x = shape.features()
        profile, air = shape.profile, shape.air
        fitted = self.coefficients(profile, threads, air=air)
        if fitted is not None:
            correction = self.correction(profile, threads, shape.trace_length, air=air)
            return _dot(fitted, x) * correction
        single = self._single_thread(shape, x)
        if threads == 1:
            return single
        # Between measured thread counts, Amdahl's law through the measured points:
        # t_k = t_1 (s + (1 - s) / k), with the serial share s read off the largest
        # thread count measured for this profile and AIR.
        measured = [
            k
            for (p, k, a), s in self._series.items()
            if p == profile and a == air and k > 1 and len(s)
        ]
        if measured:
            top = max(measured)
            top_coefficients = self.coefficients(profile, top, air=air)
            assert top_coefficients is not None
            ratio = _dot(top_coefficients, x) / single if single > 0 else 1.0
            serial = min(2.0, max(0.0, (ratio - 1 / top) / (1 - 1 / top)))
            return single * (serial + (1 - serial) / threads)
        return single / _speedup(threads)

    def _single_thread(self, shape: ProofShape, x: tuple[float, ...]) -> float:
        fitted = self.coefficients(shape.profile, 1, air=shape.air)
        if fitted is None:
            return _dot(self._prior_for(shape.profile, 1, shape.air), x)
        correction = self.correction(shape.profile, 1, shape.trace_length, air=shape.air)
        return _dot(fitted, x) * correction

    def predict(self, shape: ProofShape, threads: int = 1, *, shared: bool = False) -> float:
        threads = max(1, threads)
        deterministic = self._deterministic_prediction(shape, threads)
        if shared:
            deterministic *= self.contention(shape.profile, threads)
        return deterministic + self.expected_grinding(shape.profile, threads)

    def predict_all(self, shape: ProofShape, max_threads: int) -> tuple[float, ...]:
        """:meth:`predict` for 1, 2, ..., ``max_threads`` threads, alone."""
        return tuple(self.predict(shape, k) for k in range(1, max(1, max_threads) + 1))


def _machine_prior(register: Sequence[float]) -> tuple[float, ...]:
    """AIR 2 coefficients that price an AIR 2 proof at :data:`AIR2_PRIOR_FACTOR` times
    what ``register`` (AIR 1 coefficients) price the reference shape at, for every T:
    the width and constraint terms of that shape fold into the ``N`` and ``N_logN``
    coefficients (AIR 2's width and constraint count never change, so its own width
    features stay at 0 until its proofs are measured)."""
    fixed, per_n, per_n_log_n, per_n_w, per_n_log_n_w, per_n_c = register
    width, constraints = AIR2_REFERENCE_WIDTH, AIR2_REFERENCE_CONSTRAINTS
    return tuple(
        AIR2_PRIOR_FACTOR * c
        for c in (
            fixed,
            per_n + width * per_n_w + constraints * per_n_c,
            per_n_log_n + width * per_n_log_n_w,
            0.0,
            0.0,
            0.0,
        )
    )


def _log2(value: int) -> int:
    return max(0, value.bit_length() - 1)


def _usable(seconds: float) -> bool:
    return math.isfinite(seconds) and seconds > 0


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _speedup(threads: int) -> float:
    return 1.0 + (max(1, threads) - 1) * DEFAULT_PARALLEL_EFFICIENCY


def predict_all(model: CostModel, shape: ProofShape, max_threads: int) -> tuple[float, ...]:
    """Predicted seconds of ``shape`` with 1 .. ``max_threads`` threads, from any model."""
    if isinstance(model, CalibratedCostModel):
        return model.predict_all(shape, max_threads)
    return tuple(model.predict(shape, k) for k in range(1, max(1, max_threads) + 1))


__all__ = [
    "AIR2_PRIOR_FACTOR",
    "FEATURES",
    "CalibratedCostModel",
    "CostModel",
    "ProofShape",
    "RunShape",
    "Sample",
    "constraint_count",
    "fit_nonnegative",
    "predict_all",
]
