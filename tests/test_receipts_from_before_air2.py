"""Receipts made before the machine AIR existed still verify, and are still what the
prover makes.

The two files in tests/data were proved by the commit before AIR 2 landed (86d83d1),
with that commit's own native build: fib(30) under `default` and horner(3) under `high`.
Adding a second AIR changed the shared prover core, the verifiers' dispatch and the
receipt decoder; none of that may change what a format-2 receipt says or whether it is
accepted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import zkactors
from zkactors.zkvm.reference import verifier as reference
from zkactors.zkvm.verifier import verify_bytes

DATA = Path(__file__).parent / "data"

CASES = [
    ("fib30_default_format2.receipt", "fib", [30], "default", (832040,)),
    ("horner_high_format2.receipt", "horner", [3], "high", (352,)),
]


@pytest.mark.parametrize(("name", "program_name", "inputs", "profile", "outputs"), CASES)
def test_a_receipt_from_before_air_2_verifies_on_every_path(
    name: str, program_name: str, inputs: list[int], profile: str, outputs: tuple[int, ...]
) -> None:
    data = (DATA / name).read_bytes()
    program = zkactors.programs.load(program_name)
    receipt = zkactors.Receipt.from_bytes(data)
    assert (receipt.air, receipt.profile, receipt.outputs) == (1, profile, outputs)
    zkactors.verify(receipt, program)
    verify_bytes(data, program)
    reference.verify(receipt, program)


@pytest.mark.parametrize(("name", "program_name", "inputs", "profile", "outputs"), CASES)
def test_the_prover_still_makes_those_bytes(
    name: str, program_name: str, inputs: list[int], profile: str, outputs: tuple[int, ...]
) -> None:
    program = zkactors.programs.load(program_name)
    receipt = zkactors.prove(program, inputs, profile=profile)
    assert receipt.to_bytes() == (DATA / name).read_bytes()
