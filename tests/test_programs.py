"""The program library: outputs against Python, and each file's stated cycle formula.

Programs that fit the register AIR run natively; the machine programs (memory, streams)
run in the interpreter until the native machine executor lands.
"""

from __future__ import annotations

import ast
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkactors import programs
from zkactors.errors import ExecutionError, ZkActorsError
from zkactors.zkvm import interpreter
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.execute import execute
from zkactors.zkvm.isa import P
from zkactors.zkvm.program import Program


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


def dot_product(n: int, *values: int) -> tuple[int]:
    a, b = values[:n], values[n:]
    assert len(b) == n
    return (sum(x * y for x, y in zip(a, b, strict=True)) % P,)


def sum_array(n: int, *values: int) -> tuple[int]:
    assert len(values) == n
    return (sum(values) % P,)


def matvec(n: int, *values: int) -> tuple[int, ...]:
    matrix = [values[i * n : (i + 1) * n] for i in range(n)]
    vector = values[n * n :]
    assert len(vector) == n
    return tuple(sum(m * x for m, x in zip(row, vector, strict=True)) % P for row in matrix)


def poly_eval(n: int, *values: int) -> tuple[int]:
    coefficients, (x,) = values[:n], values[n:]
    return (sum(c * pow(x, i, P) for i, c in enumerate(coefficients)) % P,)


def straight_line(n_instructions: int, x: int) -> tuple[int]:
    """What programs.straight_line(n_instructions) outputs for x, written from its
    docstring: rounds x = (x + M[k mod 256] + k + 1)^3 storing x, then + 1 per pad."""
    rounds, extra = divmod(n_instructions - 1, 6)
    memory: dict[int, int] = {}
    for k in range(rounds):
        t = (x + memory.get(k % 256, 0) + k + 1) % P
        x = t * t * t % P
        memory[k % 256] = x
    return ((x + extra) % P,)


EXPECTED = {
    "fib": lambda n: (fib(n),),
    "factorial": lambda n: (factorial(n),),
    "power": lambda x, e: (pow(x, e, P),),
    "horner": lambda x: (horner(x),),
    "mimc": lambda x, n: (mimc(x, n),),
    "inverse_check": lambda x: (pow(x, P - 2, P),),
    "dot_product": dot_product,
    "sum_array": sum_array,
    "matvec": matvec,
    "poly_eval": poly_eval,
}

# Inputs for the formula check: small and large loop counts, edge field values.
SAMPLES = {
    "fib": [[0], [1], [2], [10], [93], [1000]],
    "factorial": [[0], [1], [5], [20], [500]],
    "power": [[3, 0], [0, 0], [0, 5], [2, 64], [P - 1, 3], [12345, 300]],
    "horner": [[0], [1], [2], [P - 1], [2**40]],
    "mimc": [[0, 0], [1, 1], [5, 10], [P - 1, 64]],
    "inverse_check": [[1], [2], [P - 1], [2**63]],
    "dot_product": [[0], [1, 3, 4], [2, 1, 2, 3, 4], [3, P - 1, P - 1, 0, P - 1, 2, 5]],
    "sum_array": [[0], [1, P - 1], [3, 1, 2, P - 1], [5, *range(5)]],
    "matvec": [[0], [1, 7, 6], [2, 1, 2, 3, 4, 5, 6], [3, *range(9), P - 1, 1, 0]],
    "poly_eval": [[0, 5], [1, 9, P - 1], [3, 1, 2, 3, 10], [4, 0, 0, 0, 1, P - 1]],
}


def run(program: Program, inputs: list[int]) -> tuple[tuple[int, ...], int]:
    """(outputs, cycles): natively for the register AIR's programs, else in the
    interpreter (until the native machine executor lands)."""
    if program.fits_register_air:
        result = execute(program, inputs)
        return result.outputs, result.cycles
    return interpreter.run(program, inputs)


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
        outputs, cycles = run(program, inputs)
        env = dict(zip(program.inputs, inputs[: program.n_inputs], strict=True))
        if program.reads_stream:
            env["n"] = inputs[program.n_inputs]  # the first value read
        assert cycles == evaluate(formula, env), (name, inputs)
        assert outputs == EXPECTED[name](*inputs), (name, inputs)


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


# ---- the machine programs on random inputs, against the Python references above


def _stream(n_max: int, per_n: object) -> st.SearchStrategy[list[int]]:
    """n, then the values the program reads for that n (``per_n(n)`` field elements)."""
    assert callable(per_n)
    return st.integers(0, n_max).flatmap(
        lambda n: st.lists(st.integers(0, P - 1), min_size=per_n(n), max_size=per_n(n)).map(
            lambda values: [n, *values]
        )
    )


@pytest.mark.parametrize(
    ("name", "stream"),
    [
        ("dot_product", _stream(12, lambda n: 2 * n)),
        ("sum_array", _stream(20, lambda n: n)),
        ("matvec", _stream(5, lambda n: n * n + n)),
        ("poly_eval", _stream(12, lambda n: n + 1)),
    ],
)
def test_machine_programs_match_python(name: str, stream: st.SearchStrategy[list[int]]) -> None:
    program = programs.load(name)
    assert program.format == 2 and program.reads_stream

    @settings(max_examples=40, deadline=None)
    @given(stream)
    def check(inputs: list[int]) -> None:
        outputs, cycles = interpreter.run(program, inputs)
        assert outputs == EXPECTED[name](*inputs)
        assert cycles == evaluate(cycle_formula(name), {"n": inputs[0]})

    check()


def test_machine_programs_refuse_a_short_or_long_stream() -> None:
    with pytest.raises(ExecutionError, match="read past the end"):
        interpreter.run(programs.load("sum_array"), [3, 1, 2])
    with pytest.raises(ExecutionError, match="1 stream input unread"):
        interpreter.run(programs.load("sum_array"), [2, 1, 2, 3])


@pytest.mark.parametrize("n_instructions", [1, 2, 6, 7, 8, 12, 13, 300, 1555, 4096])
def test_straight_line_matches_python(n_instructions: int) -> None:
    program = programs.straight_line(n_instructions)
    assert len(program.instructions) == n_instructions
    assert program.format == (1 if n_instructions < 7 else 2)
    for x in (0, 1, P - 1, 123456789):
        assert interpreter.run(program, [x]) == (straight_line(n_instructions, x), n_instructions)
    assert assemble(str(program)) == program


def test_straight_line_at_the_limit_reuses_memory_cells() -> None:
    program = programs.straight_line(65_536)
    assert program is programs.straight_line(65_536)  # generated once
    outputs, cycles = interpreter.run(program, [7])
    assert (outputs, cycles) == (straight_line(65_536, 7), 65_536)
    with pytest.raises(ValueError, match="65536"):
        programs.straight_line(65_537)
    with pytest.raises(ValueError):
        programs.straight_line(0)
