"""How the library logs: structlog events delivered through the standard ``logging`` module.

A library must stay silent until the application configures logging, and must not
configure structlog's global state (that belongs to the application). So every module's
logger is a ``structlog.stdlib.BoundLogger`` built here around
``logging.getLogger("zkactors.<module>")`` with its own short processor chain, and never
``structlog.configure``. Consequences:

- nothing is printed by default: the ``zkactors`` logger has a ``NullHandler`` (so
  Python's last-resort handler does not print warnings either), and stdlib levels and
  handlers decide what is shown (``logging.basicConfig(level=logging.DEBUG)``, a
  ``dictConfig``, uvicorn's log configuration ...);
- an event keeps its fields: the record's ``msg`` is the event dict (a ``dict`` whose
  ``str()`` is ``event key=value ...``, so plain ``logging`` formatters print a readable
  line), and the record carries what ``structlog.stdlib.ProcessorFormatter`` looks for, so
  an application that formats with structlog gets the structured event, rendered by its
  own processors (JSON, console ...);
- values the caller bound with ``structlog.contextvars.bind_contextvars`` are merged into
  the events emitted in the caller's task.
"""

from __future__ import annotations

import logging
import os
import sys
import types
from collections.abc import Callable
from typing import Any

import structlog

#: The root of the library's loggers; modules log under ``zkactors.<module path>``.
ROOT = "zkactors"

logging.getLogger(ROOT).addHandler(logging.NullHandler())

# Fields that are arguments of ``logging.Logger.log``, not part of the message.
_LOG_KWARGS = ("exc_info", "stack_info", "stacklevel")


class EventMessage(dict[str, Any]):
    """A structlog event dict as a ``LogRecord.msg``: structured for
    ``ProcessorFormatter`` (which copies it as a dict), ``event key=value ...`` for any
    other formatter (which calls ``str`` on it)."""

    __slots__ = ()

    def __str__(self) -> str:
        parts = [str(self.get("event", ""))]
        for key, value in self.items():
            if key == "event" or key in _LOG_KWARGS:
                continue
            parts.append(f"{key}={_show(value)}")
        return " ".join(parts)

    __repr__ = __str__


def _show(value: object) -> str:
    if isinstance(value, str) and value and not any(c.isspace() or c in "\"'=" for c in value):
        return value
    return repr(value)


def _to_stdlib(
    logger: logging.Logger, method_name: str, event_dict: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The last processor: the arguments of the stdlib logging call."""
    kwargs: dict[str, Any] = {
        # What ``ProcessorFormatter.wrap_for_formatter`` attaches, so ProcessorFormatter
        # treats the record as a structlog event rather than a foreign string.
        "extra": {"_logger": logger, "_name": method_name},
    }
    if "stacklevel" not in event_dict:
        kwargs["stacklevel"] = _caller_stacklevel()
    for name in _LOG_KWARGS:
        if name in event_dict:
            # Passed to logging too (the traceback of a plain formatter), and kept in the
            # event for ProcessorFormatter's own exception processors.
            kwargs[name] = event_dict[name]
    return (EventMessage(event_dict),), kwargs


_STRUCTLOG_DIR = os.path.dirname(structlog.__file__)


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that makes the record's file, line and function the library's
    call site rather than structlog's: the frames from structlog's event processing (this
    processor's caller) up to the first frame outside structlog, which are all still on
    the stack when logging looks for the caller, except the processing frame itself."""
    frame: types.FrameType | None = sys._getframe(2)  # skip this one and the processor
    level = 0
    while frame is not None and frame.f_code.co_filename.startswith(_STRUCTLOG_DIR):
        level += 1
        frame = frame.f_back
    return max(1, level)


_PROCESSORS: list[Callable[..., Any]] = [
    # Cheap level check first: a filtered-out event costs one isEnabledFor.
    structlog.stdlib.filter_by_level,
    structlog.contextvars.merge_contextvars,
    _to_stdlib,
]


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """The structlog logger of module ``name`` (``zkactors.…``), routed through
    ``logging.getLogger(name)`` and independent of structlog's global configuration."""
    return structlog.stdlib.BoundLogger(logging.getLogger(name), _PROCESSORS, {})


__all__ = ["ROOT", "EventMessage", "get_logger"]
