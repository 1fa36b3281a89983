"""Compiled modules built from ``ext/`` by ``setup.py`` (one per ``ext/*.pyx``).

Nothing here is public API: the Python package wraps these modules, validates
arguments, and is the only caller. Every heavy function releases the GIL.
"""
