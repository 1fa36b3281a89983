"""Security profiles: the proof-system parameters a receipt is made with (protocol.md 6).

A profile fixes the blowup ``B`` of the low-degree extension, the number of FRI queries
``q``, the proof-of-work grinding bits ``g``, the FRI folding factor ``f`` and the largest
remainder polynomial FRI may send in the clear. Its id is written into every receipt and
absorbed into the transcript, so a receipt can only be checked against the profile it was
made with.

``test`` (id 0): B = 4, q = 8, g = 0, f = 4, remainder <= 8.
    About 16 conjectured bits. **Insecure**: a forger needs about 2^16 attempts. It exists
    only so unit tests can prove and verify in milliseconds; never use it to protect
    anything.
``default`` (id 1): B = 8, q = 28, g = 16, f = 8, remainder <= 32.
    Query term 28 * 3 + 16 = 100 bits. Twice the LDE work of ``test`` per trace cell
    (B = 8 rather than 4), receipts of a few tens of KiB for typical programs, and about
    2^16 extra hashes of grinding (milliseconds).
``high`` (id 2): B = 8, q = 38, g = 16, f = 8, remainder <= 32.
    Query term 38 * 3 + 16 = 130 bits. Proving costs the same as ``default`` (the LDE and
    the commitments do not depend on q); receipts grow by the ten extra query openings
    (roughly a third larger) and verification by as much.

What the figures mean, honestly. The *conjectured* security (the ethSTARK-style figure) is
the minimum of two terms:

- the query term, ``q * log2(B) + g``: each query catches a far-from-low-degree function
  with probability about ``1 - 1/B`` (conjecturally), and grinding multiplies the cost of
  each attempt by ``2^g``;
- the field term, ``log2|K| - log2(N * constraints)`` with ``N = B * T`` and ``|K| = p^3``
  (challenges are drawn from the cubic extension K = F[X]/(X^3 - 7) of the Goldilocks
  field, ``extension_degree`` = 3 for every profile): the chance that a random
  out-of-domain point or a random linear combination hides a wrong trace grows with the
  domain size and the number of constraints.

``log2|K| = 3 * log2(p)`` is just under 192, so the field term is about
``192 - log2(N * constraints)``. The largest statement (T = 2^26, B = 8, and the AIR's
bound of 657 constraints for any valid program) leaves about 153 bits, so the field term
never binds and the conjectured figure of every profile is its query term: 100 bits for
``default`` and 130 for ``high`` at every trace length. (Version 1 drew challenges from a
quadratic extension, whose field term of about ``128 - log2(N * constraints)`` capped
``high`` below 128 bits and pulled ``default`` under 100 at large T.)
:meth:`Profile.conjectured_security_bits` computes the figure for a concrete trace length
and constraint count.

Proven bounds (from the list-decoding analysis of FRI and DEEP) are lower than these
conjectured figures, markedly so for small blowups; we do not claim them.
"""

from __future__ import annotations

import math

import attrs

from zkactors.errors import ProfileError

#: The Goldilocks prime; challenges live in K = F_p[X]/(X^3 - 7), of order p^3.
_P = 2**64 - 2**32 + 1
#: [K : F] for every profile (protocol.md 1): one extension field everywhere.
EXTENSION_DEGREE = 3

#: The minimum conjectured security every verification path demands unless its caller
#: says otherwise: the figure of ``default``. Honest ``default`` and ``high`` receipts
#: meet it at every trace length the prover accepts; ``test`` receipts do not, so code
#: that verifies them must ask for that explicitly (``min_security_bits=0``).
DEFAULT_MIN_SECURITY_BITS = 100.0

#: 28 fractions per row at most (25 of the trace, V's at most 3T) times 22, the longest
#: tuple compressed with beta: AIR 2's LogUp error is at most 616*T/|K| (protocol.md 17).
LOGUP_FRACTION_BOUND = 28 * 22


@attrs.frozen
class Profile:
    """One row of the profile table of protocol.md 6.

    ``blowup``, ``folding_factor`` and ``max_remainder_size`` are powers of two;
    ``insecure`` marks profiles meant only for tests. ``extension_degree`` is the degree
    of the field K the challenges are drawn from, 3 for every profile (protocol.md 1).
    """

    name: str
    id: int
    blowup: int
    queries: int
    grinding_bits: int
    folding_factor: int
    max_remainder_size: int
    extension_degree: int = EXTENSION_DEGREE
    insecure: bool = False

    @property
    def log_blowup(self) -> int:
        return self.blowup.bit_length() - 1

    @property
    def log_folding_factor(self) -> int:
        return self.folding_factor.bit_length() - 1

    def fri_shape(self, trace_length: int) -> tuple[int, int]:
        """``(L, d_L)``: the number of committed FRI layers and the remainder size for a
        trace of ``trace_length`` rows (protocol.md 8.5: fold while the degree bound
        exceeds the maximum remainder size)."""
        layers, degree = 0, trace_length
        while degree > self.max_remainder_size:
            degree //= self.folding_factor
            layers += 1
        return layers, degree

    @property
    def query_security_bits(self) -> float:
        """``q * log2(B) + g``: the conjectured bits from the queries and grinding."""
        # float(log_blowup), not log2(blowup): ext/profiles.h multiplies by the integer
        # exponent, and the two verifiers must agree to the last bit at any minimum.
        return self.queries * float(self.log_blowup) + self.grinding_bits

    @property
    def log2_extension_field(self) -> float:
        """``log2|K| = extension_degree * log2(p)``, just under 192 for the cubic K
        (``log2`` of the double nearest p, as ext/profiles.h computes it)."""
        return self.extension_degree * math.log2(float(_P))

    def field_security_bits(self, trace_length: int, num_constraints: int) -> float:
        """``log2|K| - log2(N * num_constraints)`` with ``N = B * trace_length`` and
        ``|K| = p^extension_degree`` (p^3): the bits the extension field leaves after the
        union bounds over the evaluation domain and the constraints.

        ``trace_length`` must be a power of two (it always is for a receipt).
        """
        if trace_length < 1 or trace_length & (trace_length - 1) or num_constraints < 1:
            raise ValueError(
                "trace_length must be a power of two and num_constraints positive, got "
                f"{trace_length} and {num_constraints}"
            )
        log_t = trace_length.bit_length() - 1
        # Operation for operation as zk_security_bits in ext/profiles.h, so the native
        # and the reference verifier judge a receipt against a minimum identically.
        return self.log2_extension_field - (
            float(self.log_blowup + log_t) + math.log2(float(num_constraints))
        )

    def logup_security_bits(self, trace_length: int) -> float:
        """AIR 2's LogUp term ``e * log2(p) - (log2 T + log2 616)`` (protocol.md 17): the
        lookup sum has at most 28*T fractions, each tuple compressed to at most 22
        positions, checked at one random alpha."""
        if trace_length < 1 or trace_length & (trace_length - 1):
            raise ValueError(f"trace_length must be a power of two, got {trace_length}")
        log_t = trace_length.bit_length() - 1
        return self.log2_extension_field - (float(log_t) + math.log2(float(LOGUP_FRACTION_BOUND)))

    def conjectured_security_bits(
        self, trace_length: int, num_constraints: int, *, air: int = 1
    ) -> float:
        """The conjectured security of a receipt: the smaller of the query and field terms
        (AIR 1, protocol.md 11), and for AIR 2 also of the LogUp term (protocol.md 17),
        taken in that order."""
        if air not in (1, 2):
            raise ValueError(f"air must be 1 or 2, got {air!r}")
        query = self.query_security_bits
        field = self.field_security_bits(trace_length, num_constraints)
        bits = query if query < field else field
        if air == 2:
            logup = self.logup_security_bits(trace_length)
            bits = bits if bits < logup else logup
        return bits


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile("test", 0, 4, 8, 0, 4, 8, insecure=True),
        Profile("default", 1, 8, 28, 16, 8, 32),
        Profile("high", 2, 8, 38, 16, 8, 32),
    )
}

_BY_ID: dict[int, Profile] = {profile.id: profile for profile in PROFILES.values()}

DEFAULT = "default"


def security_bits(
    profile: str | Profile, trace_length: int, num_constraints: int, *, air: int = 1
) -> float:
    """The conjectured security, in bits, that verifiers assign to a receipt made under
    ``profile`` (a name or a :class:`Profile`) for a trace of ``trace_length`` rows of a
    program with ``num_constraints`` AIR constraints, under AIR ``air`` (1, the register
    AIR of protocol.md 11; 2, the machine AIR of protocol.md 17, which adds the LogUp term
    and has 47 constraints).

    This is the figure every verification path holds against its ``min_security_bits``
    (``Receipt.security_bits(program)`` applies it to a receipt).

    :raises ProfileError: if ``profile`` names no profile.
    :raises ValueError: if ``trace_length`` is not a power of two, ``num_constraints``
        is not positive or ``air`` is neither 1 nor 2.
    """
    resolved = profile if isinstance(profile, Profile) else get(profile)
    return resolved.conjectured_security_bits(trace_length, num_constraints, air=air)


def own_receipts_minimum(profile: str | Profile) -> float:
    """The minimum to verify receipts with that this process asked to be made under
    ``profile`` (a runtime's own, a bench's): :data:`DEFAULT_MIN_SECURITY_BITS`, or 0 for
    an insecure profile, whose receipts are below any meaningful minimum by design.

    Only for receipts whose profile the *verifying* side chose and then checks the
    receipt names; a receipt from anyone else is held to the caller's own minimum.
    """
    resolved = profile if isinstance(profile, Profile) else get(profile)
    return 0.0 if resolved.insecure else DEFAULT_MIN_SECURITY_BITS


def check_min_security_bits(min_security_bits: float) -> float:
    """Validate a caller's minimum: a finite, non-negative number of bits.

    :raises TypeError: if it is not a real number.
    :raises ValueError: if it is negative, infinite or NaN.
    """
    if isinstance(min_security_bits, bool) or not isinstance(min_security_bits, int | float):
        raise TypeError(
            f"min_security_bits must be a number of bits, got {type(min_security_bits).__name__}"
        )
    try:
        value = float(min_security_bits)
    except OverflowError:  # an int beyond every double is no finite minimum either
        value = math.inf
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"min_security_bits must be finite and >= 0, got {min_security_bits!r}")
    return value


def get(name: str) -> Profile:
    """The profile called ``name``.

    :raises ProfileError: if there is no such profile.
    """
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        valid = ", ".join(PROFILES)
        raise ProfileError(f"unknown security profile {name!r}; choose one of: {valid}") from None


def by_id(profile_id: int) -> Profile:
    """The profile whose receipt id is ``profile_id``.

    :raises ProfileError: if no profile has that id.
    """
    try:
        return _BY_ID[profile_id]
    except (KeyError, TypeError):
        valid = ", ".join(f"{p.id} ({p.name})" for p in _BY_ID.values())
        raise ProfileError(
            f"unknown security profile id {profile_id!r}; valid ids: {valid}"
        ) from None
