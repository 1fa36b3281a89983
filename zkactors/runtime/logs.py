"""Cheap debug events on hot paths.

The runtime logs each request's lifecycle (accepted, cache hit, proving started, proved,
failed, replied) as structlog events at debug level, one line each, with key=value
fields; cache state changes are info. The library never configures structlog: the
application decides what is shown.

A cache hit costs about 30 us, and a filtered-out ``log.debug`` through structlog's lazy
module-level proxy costs about 5 us (it binds a fresh logger on every call), so the hot
paths ask a :class:`DebugEvents` once per batch for a bound logger, which is ``None``
while debug is filtered out. The bound logger is cached until structlog's configuration
changes, so reconfiguring logging at run time, or ``structlog.testing.capture_logs``,
takes effect at once. The change is detected from structlog's configuration object
(about 0.1 us); should structlog's internals move, ``structlog.get_config()`` (about
0.7 us, public) takes over.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

_structlog_config: Any
try:
    from structlog._config import _CONFIG as _structlog_config
except ImportError:  # pragma: no cover - a structlog without that internal
    _structlog_config = None


def _config_key() -> tuple[Any, ...]:
    config = _structlog_config
    if config is not None:
        try:
            return (
                config.default_wrapper_class,
                id(config.default_processors),
                config.logger_factory,
                config.default_context_class,
            )
        except AttributeError:  # pragma: no cover - internals changed
            pass
    public = structlog.get_config()
    return (
        public["wrapper_class"],
        id(public["processors"]),
        public["logger_factory"],
        public["context_class"],
    )


class DebugEvents:
    """Hands out a bound logger for debug events, or None when debug is filtered out."""

    __slots__ = ("_bound", "_key", "_log")

    def __init__(self, log: Any) -> None:
        self._log = log
        self._key: tuple[Any, ...] | None = None
        self._bound: Any = None

    def logger(self) -> Any:
        """A bound logger whose ``debug`` emits, or None if debug events are dropped."""
        key = _config_key()
        if key != self._key:
            self._key = key
            bound = self._log.bind()
            check = getattr(bound, "is_enabled_for", None)
            # Filtering loggers know their level; any other wrapper (stdlib's, whose level
            # can change under it) is asked every time by emitting.
            enabled = True if check is None else bool(check(logging.DEBUG))
            self._bound = bound if enabled else None
        return self._bound


__all__ = ["DebugEvents"]
