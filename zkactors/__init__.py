"""zkactors: prove zkVM programs with real STARK receipts from an async service.

The public surface is re-exported here; see the README for a tour.
"""

from __future__ import annotations

from zkactors._version import __version__

__all__ = ["__version__"]
