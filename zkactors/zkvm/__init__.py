"""The zkVM and its proof system: programs, execution, receipts, prover and verifiers.

Modules: ``isa`` (instructions and limits), ``program`` (the canonical ``Program``),
``assembler``, ``interpreter`` (the pure-Python test oracle), ``execute`` (the native
executor), ``receipt``, ``prover``, ``verifier`` and ``reference`` (the pure-Python
verifier that is the readable specification).
"""
