"""Shared test configuration.

Async tests use anyio's pytest plugin; the ``anyio_backend`` fixture below makes every
one of them run twice, once on asyncio and once on trio.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=15, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def _logging_defaults() -> Iterator[None]:
    """Undo any logging configuration a test made (the CLI's main() configures the
    ``zkactors`` logger, as an application should; the README's snippet configures the
    root logger and binds context), so later tests see the library's unconfigured
    defaults."""
    loggers = [logging.getLogger(), logging.getLogger("zkactors")]
    saved = [(list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    yield
    for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()
