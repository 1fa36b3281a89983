"""``ServiceConfig``: what the prover service adds to a :class:`~zkactors.RuntimeConfig`.

A public prover spends its CPUs on whoever asks, so every limit here exists to bound what
one request, or one client, can make it spend: the body it may send, the cost of the
proof it may ask for (decided from the runtime's estimate before anything is proved), the
requests it may have in flight, and who may ask at all (bearer tokens).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import attrs

from zkactors import profiles
from zkactors.errors import ConfigError
from zkactors.runtime.config import RuntimeConfig

#: The largest request body by default: the largest receipt (format 3, 2 MiB) base64-encoded
#: (2.67 MiB) with its program, or 2^16 stream inputs as JSON (at most ~1.4 MB), fit.
DEFAULT_MAX_BODY_BYTES = 4 << 20
DEFAULT_MAX_IN_FLIGHT = 256
DEFAULT_MAX_PER_CLIENT = 4
DEFAULT_DRAIN_SECONDS = 30.0


def _optional_positive(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{attribute.name} must be a positive number or None, got {value!r}")


def _positive_int(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{attribute.name} must be an integer >= 1, got {value!r}")


def _non_negative(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigError(f"{attribute.name} must be a number >= 0, got {value!r}")


def _min_bits(value: object) -> float:
    try:
        return profiles.check_min_security_bits(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"min_security_bits: {exc}") from None


def _token_digests(value: object) -> frozenset[bytes] | None:
    if value is None:
        return None
    if isinstance(value, str | bytes):
        raise ConfigError("tokens must be a collection of strings, not one string")
    tokens = list(value)  # type: ignore[call-overload]
    if not tokens or not all(isinstance(t, str) and t for t in tokens):
        raise ConfigError("tokens must be non-empty strings (and at least one)")
    # Only digests are kept: comparing fixed-length digests in constant time does not
    # reveal a token's length, and the process holds no token in the clear.
    return frozenset(token_digest(t) for t in tokens)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


@attrs.frozen
class ServiceConfig:
    """Everything ``create_app`` needs; validated at construction.

    ``runtime``: the runtime's configuration (its ``store`` is the receipt store).
    ``max_body_bytes``: the largest request body, refused from ``Content-Length`` or,
    without one, as soon as the streamed body passes it (413).

    Per-request cost limits (None: no limit), checked against ``rt.estimate`` before any
    proving (422 ``CostLimitExceeded`` with the estimate): ``max_cycles``,
    ``max_trace_rows``, ``max_seconds`` (estimated proving seconds), ``max_memory_bytes``
    (the prover's estimated peak memory).

    ``max_in_flight``: proof requests the service waits on at once (503 past it);
    ``max_per_client``: of those, per client (the bearer token, or the peer address
    without authentication; 429 past it). ``tokens``: the accepted bearer tokens (None:
    no authentication); :func:`load_tokens` reads them from a file.
    ``min_security_bits``: ``POST /verify`` refuses receipts below this (a request may
    ask for more, never less). ``drain_seconds``: on shutdown, how long requests in
    flight may still finish before they are answered 503 and their proofs abandoned.
    """

    runtime: RuntimeConfig = attrs.field(factory=RuntimeConfig)
    max_body_bytes: int = attrs.field(default=DEFAULT_MAX_BODY_BYTES, validator=_positive_int)
    max_cycles: int | None = attrs.field(default=None, validator=_optional_positive)
    max_trace_rows: int | None = attrs.field(default=None, validator=_optional_positive)
    max_seconds: float | None = attrs.field(default=None, validator=_optional_positive)
    max_memory_bytes: int | None = attrs.field(default=None, validator=_optional_positive)
    max_in_flight: int = attrs.field(default=DEFAULT_MAX_IN_FLIGHT, validator=_positive_int)
    max_per_client: int = attrs.field(default=DEFAULT_MAX_PER_CLIENT, validator=_positive_int)
    tokens: frozenset[bytes] | None = attrs.field(
        default=None, converter=_token_digests, repr=False
    )
    min_security_bits: float = attrs.field(
        default=profiles.DEFAULT_MIN_SECURITY_BITS, converter=_min_bits
    )
    drain_seconds: float = attrs.field(default=DEFAULT_DRAIN_SECONDS, validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.runtime, RuntimeConfig):
            raise ConfigError(f"runtime must be a RuntimeConfig, got {type(self.runtime).__name__}")

    @property
    def auth(self) -> bool:
        return self.tokens is not None

    def limits(self) -> dict[str, float | int | None]:
        return {
            "cycles": self.max_cycles,
            "trace_rows": self.max_trace_rows,
            "seconds": self.max_seconds,
            "memory_bytes": self.max_memory_bytes,
        }


def load_tokens(path: str | os.PathLike[str]) -> list[str]:
    """The bearer tokens in a file: one a line; blank lines and ``#`` comments skipped.

    :raises ConfigError: the file cannot be read or holds no token.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the token file {os.fspath(path)!r}: {exc}") from None
    tokens = [line.strip() for line in text.splitlines()]
    tokens = [t for t in tokens if t and not t.startswith("#")]
    if not tokens:
        raise ConfigError(f"the token file {os.fspath(path)!r} holds no token")
    return tokens


__all__ = ["ServiceConfig", "load_tokens", "token_digest"]
