"""Capturing the library's log events in tests, the way an application receives them:
through a handler on the standard ``zkactors`` logger (the library never touches
structlog's global configuration, so ``structlog.testing.capture_logs`` does not see
them)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class EventCapture(logging.Handler):
    """Keeps each record's structured event, with ``log_level`` and ``logger`` added."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.events: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.msg
        event = dict(msg) if isinstance(msg, dict) else {"event": record.getMessage()}
        event["log_level"] = record.levelname.lower()
        event["logger"] = record.name
        self.events.append(event)


@contextmanager
def capture_events(level: int = logging.DEBUG) -> Iterator[list[dict[str, Any]]]:
    """The events the library emits at ``level`` and above while the block runs."""
    logger = logging.getLogger("zkactors")
    handler = EventCapture()
    saved = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield handler.events
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved)
