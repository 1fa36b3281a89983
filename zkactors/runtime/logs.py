"""Cheap debug events on hot paths, and the ids that tie a request's events together.

The runtime logs each request's lifecycle (accepted, cache hit, miss, proving started,
proved or failed, replied) as debug events, one line each, with key=value fields; cache
state changes are info. Events go through the standard ``logging`` module under the
``zkactors`` logger (see :mod:`zkactors._logging`); the application decides what is shown.

A cache hit costs about 30 us, so the hot paths ask a :class:`DebugEvents` once per batch
for the logger, which is ``None`` while debug is filtered out: one
``Logger.isEnabledFor`` call (a dict lookup in the logger's own cache), which follows any
change of levels or ``logging.disable`` at once.

One request, one story: every event about a request carries ``runtime_request_id``, the
id the runtime gave it, and whatever the caller had bound with
``structlog.contextvars.bind_contextvars`` (a ``request_id`` of the application, say) when
it submitted the request, even when the event is emitted in an actor's task: the
request message carries both (:class:`~zkactors.runtime.messages.ProofRequest`) and
:func:`for_request` binds them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import structlog

from zkactors._logging import get_logger

if TYPE_CHECKING:
    from zkactors.runtime.messages import ProofRequest


class DebugEvents:
    """Hands out the module's logger for debug events, or None when debug is filtered out."""

    __slots__ = ("_log", "_stdlib")

    def __init__(self, name: str) -> None:
        self._stdlib = logging.getLogger(name)
        self._log = get_logger(name)

    def logger(self) -> structlog.stdlib.BoundLogger | None:
        """The logger, if its ``debug`` events would be emitted now."""
        return self._log if self._stdlib.isEnabledFor(logging.DEBUG) else None


def request_fields(request: ProofRequest) -> dict[str, Any]:
    """What identifies ``request`` in an event: the caller's bound context at submission
    and the runtime's id for it (which wins over a caller key of the same name)."""
    fields = request.context.run(structlog.contextvars.get_contextvars)
    fields["runtime_request_id"] = request.request_id
    return fields


def for_request(
    logger: structlog.stdlib.BoundLogger, request: ProofRequest
) -> structlog.stdlib.BoundLogger:
    """``logger`` bound to the ids of ``request`` (see :func:`request_fields`)."""
    return logger.bind(**request_fields(request))


__all__ = ["DebugEvents", "for_request", "request_fields"]
