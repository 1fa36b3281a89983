"""The program library: outputs against Python, and each file's stated cycle formula."""

from __future__ import annotations

import ast
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkactors import programs
from zkactors.errors import ExecutionError, ZkActorsError
from zkactors.zkvm import interpreter
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.execute import execute
from zkactors.zkvm.isa import P


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, (a + b) % P
    return a


def factorial(n: int) -> int:
    acc = 1
    for k in range(2, n + 1):
        acc = acc * k % P
    return acc


def horner(x: int) -> int:
    return (2 * x**4 + 7 * x**3 - 5 * x**2 + 11 * x + 13) % P


def mimc(x: int, n: int) -> int:
    c = 7
    for _ in range(n):
        x = pow((x + c) % P, 7, P)
        c = (5 * c + 3) % P
    return x


EXPECTED = {
    "fib": lambda n: (fib(n),),
    "factorial": lambda n: (factorial(n),),
    "power": lambda x, e: (pow(x, e, P),),
    "horner": lambda x: (horner(x),),
    "mimc": lambda x, n: (mimc(x, n),),
    "inverse_check": lambda x: (pow(x, P - 2, P),),
}

# Inputs for the formula check: small and large loop counts, edge field values.
SAMPLES = {
    "fib": [[0], [1], [2], [10], [93], [1000]],
    "factorial": [[0], [1], [5], [20], [500]],
    "power": [[3, 0], [0, 0], [0, 5], [2, 64], [P - 1, 3], [12345, 300]],
    "horner": [[0], [1], [2], [P - 1], [2**40]],
    "mimc": [[0, 0], [1, 1], [5, 10], [P - 1, 64]],
    "inverse_check": [[1], [2], [P - 1], [2**63]],
}


def test_library_contents() -> None:
    assert set(programs.names()) == set(EXPECTED)
    assert programs.load("fib") is programs.load("fib")  # assembled once


def test_unknown_name() -> None:
    with pytest.raises(programs.UnknownProgramError, match="no built-in program named 'fob'"):
        programs.load("fob")
    with pytest.raises(ZkActorsError, match="fib"):  # lists what exists
        programs.load("fob")


def cycle_formula(name: str) -> str:
    """The ``; cycles = ...`` expression from the program's header comment."""
    header = []
    for line in programs.source(name).splitlines():
        if not line.startswith(";"):
            break
        header.append(line)
    assert header and header[0].startswith(f"; {name}:"), "header says what it computes"
    formulas = [m.group(1) for line in header if (m := re.match(r";\s*cycles = (.+)$", line))]
    assert len(formulas) == 1, f"{name}: one '; cycles = ...' line in the header"
    return formulas[0]


def evaluate(formula: str, env: dict[str, int]) -> int:
    """Evaluate an integer formula of + and * over the inputs (nothing else is allowed)."""
    tree = ast.parse(formula, mode="eval")
    for node in ast.walk(tree):
        allowed = (ast.Expression, ast.BinOp, ast.Add, ast.Mult, ast.Constant, ast.Name, ast.Load)
        assert isinstance(node, allowed), f"unsupported syntax in {formula!r}"
    return int(eval(compile(tree, "<formula>", "eval"), {"__builtins__": {}}, dict(env)))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cycle_formula_and_outputs(name: str) -> None:
    program = programs.load(name)
    formula = cycle_formula(name)
    for inputs in SAMPLES[name]:
        result = execute(program, inputs)
        env = dict(zip(program.inputs, inputs, strict=True))
        assert result.cycles == evaluate(formula, env), (name, inputs)
        assert result.outputs == EXPECTED[name](*inputs), (name, inputs)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_disassembly_round_trip(name: str) -> None:
    program = programs.load(name)
    assert assemble(str(program)) == program
    assert assemble(programs.source(name)) == program


@given(st.integers(0, P - 1), st.integers(0, 40))
def test_mimc_matches_python(x: int, n: int) -> None:
    assert execute(programs.load("mimc"), [x, n]).outputs == (mimc(x, n),)


@given(st.integers(1, P - 1))
def test_inverse_check_matches_python(x: int) -> None:
    assert execute(programs.load("inverse_check"), [x]).outputs == (pow(x, P - 2, P),)


@pytest.mark.parametrize("name", ["fib", "power", "horner"])
def test_interpreter_agrees_on_small_inputs(name: str) -> None:
    program = programs.load(name)
    for inputs in SAMPLES[name][:3]:
        result = execute(program, inputs)
        assert interpreter.run(program, inputs) == (result.outputs, result.cycles)


def test_inverse_check_rejects_zero() -> None:
    with pytest.raises(ExecutionError, match="inv of zero at pc 0") as info:
        execute(programs.load("inverse_check"), [0])
    assert info.value.source_line == "inv y, x"
