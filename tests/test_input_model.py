"""One input model: ``zkactors.execute`` / ``prove`` / ``verify`` and ``ZkRuntime``
accept the same ``program`` and ``inputs`` forms and raise the same typed errors for the
same mistakes, because both call :mod:`zkactors.zkvm.arguments`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import zkactors
from zkactors import programs
from zkactors.errors import InputError, NotAProgramError, ProgramFormatError
from zkactors.runtime import RuntimeConfig, ZkRuntime
from zkactors.zkvm.arguments import as_inputs, as_program

POWER = programs.load("power")  # .input x, e (x to the power e)
P = 2**64 - 2**32 + 1


def _generator() -> Iterator[int]:
    yield from (3, 4)


# Every accepted form of the same request: power(3, 4) = 81.
GOOD: list[tuple[object, object]] = [
    (POWER, [3, 4]),
    (POWER, (3, 4)),
    (POWER, range(3, 5)),
    (POWER.to_bytes(), [3, 4]),
    (bytearray(POWER.to_bytes()), (3, 4)),
    (memoryview(POWER.to_bytes()), [3, 4]),
    (POWER, {"x": 3, "e": 4}),
    (POWER, {"e": 4, "x": 3}),  # by name: the mapping's order does not matter
]

# Mistakes, the error type both APIs raise and a piece of its message.
BAD: list[tuple[object, object, type[Exception], str]] = [
    ("power", [3, 4], NotAProgramError, r"programs\.load\('power'\)"),
    (None, [3, 4], NotAProgramError, "expected a zkactors Program"),
    (b"ZKVM\x01garbage", [3, 4], ProgramFormatError, "registers"),
    (POWER, [3], InputError, "expected 2 inputs"),
    (POWER, [3, 4, 5], InputError, "expected 2 inputs"),
    (POWER, [3, P], InputError, r"\[0, p\)"),
    (POWER, [3, True], InputError, r"\[0, p\)"),
    (POWER, [3, "4"], InputError, r"\[0, p\)"),
    (POWER, "34", InputError, "sequence of ints"),
    (POWER, b"\x03\x04", InputError, "sequence of ints"),
    (POWER, {3, 4}, InputError, "sequence of ints"),
    (POWER, 3, InputError, "sequence of ints"),
    (POWER, {"x": 3}, InputError, "missing input"),
    (POWER, {"x": 3, "e": 4, "n": 1}, InputError, "unknown input name"),
    (POWER, {"x": 3, "e": -4}, InputError, r"\[0, p\)"),
]


def test_not_a_program_is_both_a_type_error_and_a_program_format_error() -> None:
    # Callers that caught either before the two APIs were unified still catch it.
    assert issubclass(NotAProgramError, TypeError)
    assert issubclass(NotAProgramError, ProgramFormatError)


@pytest.mark.parametrize(("program", "inputs"), GOOD)
def test_sync_api_accepts_every_form(program: Any, inputs: Any) -> None:
    assert as_inputs(as_program(program), inputs) == (3, 4)
    assert zkactors.execute(program, inputs).outputs == (81,)
    receipt = zkactors.prove(program, inputs, profile="test")
    assert receipt.inputs == (3, 4) and receipt.outputs == (81,)
    zkactors.verify(receipt, program, min_security_bits=0)  # "test" receipts are insecure


def test_sync_api_reads_a_generator_once() -> None:
    assert zkactors.execute(POWER, _generator()).outputs == (81,)


@pytest.mark.parametrize(("program", "inputs", "error", "message"), BAD)
def test_sync_api_refuses_every_mistake(
    program: Any, inputs: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        zkactors.execute(program, inputs)
    with pytest.raises(error, match=message):
        zkactors.prove(program, inputs, profile="test")


@pytest.mark.anyio
async def test_runtime_accepts_the_same_forms_and_refuses_the_same_mistakes() -> None:
    async with ZkRuntime(RuntimeConfig(profile="test", calibrate="off")) as rt:
        for program, inputs in GOOD:
            receipt = await rt.prove(program, inputs)  # type: ignore[arg-type]
            assert receipt.inputs == (3, 4) and receipt.outputs == (81,)
            estimate = await rt.estimate(program, inputs)  # type: ignore[arg-type]
            assert estimate.cycles == zkactors.execute(POWER, [3, 4]).cycles
        receipts = await rt.prove_many(GOOD)  # type: ignore[arg-type]
        assert {r.outputs for r in receipts} == {(81,)}
        for program, inputs, error, message in BAD:
            with pytest.raises(error, match=message):
                await rt.prove(program, inputs)  # type: ignore[arg-type]
            with pytest.raises(error, match=message):
                rt.try_prove(program, inputs)  # type: ignore[arg-type]
            with pytest.raises(error, match=message):
                await rt.prove_many([(program, inputs)])  # type: ignore[list-item]


# Instruction set v2: a program with `read` takes stream inputs after its .input values.
STREAM = zkactors.assemble(".input n\n.output s\nread s\nhalt\n")


@pytest.mark.parametrize("count", [1, 2, 1000, 2**16])
def test_a_program_with_read_accepts_up_to_2_to_the_16_inputs(count: int) -> None:
    values = list(range(count))
    assert as_inputs(STREAM, values) == tuple(values)
    assert as_inputs(STREAM, tuple(values)) == tuple(values)
    assert as_inputs(STREAM, iter(values)) == tuple(values)
    assert as_inputs(as_program(STREAM.to_bytes()), values) == tuple(values)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([], "at least 1 input"),
        (list(range(2**16 + 1)), "at most 65536 in all, got 65537 or more"),
        (range(10**9), "at most 65536 in all, got 65537 or more"),  # not materialised
        ([1, P], r"input 1 \(stream input 0\) must be an int in \[0, p\)"),
        ([1, True], r"must be an int in \[0, p\)"),
        ("12", "sequence of ints"),
        ({"n": 1, "x": 2}, "unknown input name"),
    ],
)
def test_a_program_with_read_refuses_the_same_mistakes(inputs: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        as_inputs(STREAM, inputs)


def test_a_mapping_gives_a_program_with_read_its_input_registers_only() -> None:
    assert as_inputs(STREAM, {"n": 5}) == (5,)
