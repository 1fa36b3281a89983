"""Strategies for zkVM programs that halt within a cycle budget, and for their inputs.

A program is built from *blocks*, each with a known worst-case cycle cost and size, so
the strategy can keep the whole program's worst case (over every input) within the
budget by construction instead of running it and filtering:

- an arithmetic instruction on the data registers (cost 1);
- ``inv`` guarded so it never sees 0: by a ``jz`` on its operand, or on a nonzero constant;
- assertions that hold for every input, because they check field identities
  (``(a + b) - b = a``, ``a - a = 0``, ``a · a⁻¹ - 1 = 0``);
- forward skips (``jz`` / ``jnz`` over a body) on a data register or on a constant set
  just before, so both "taken" and "not taken" occur whatever the inputs are;
- an early ``halt`` behind a branch;
- counted loops, bottom-tested (``jnz`` back) or top-tested (``jz`` out, ``jmp`` back),
  nested up to two deep. A loop's counter is set to a small constant and only the loop
  writes it, so every loop ends; a loop of n iterations costs at most
  ``overhead + n · body``.

The program is emitted as assembly text and assembled, so the assembler is exercised on
every example, and the text can be drawn on its own (:func:`program_sources`).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
from hypothesis import strategies as st

from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.isa import MAX_INPUTS, MAX_INSTRUCTIONS, MAX_OUTPUTS, P
from zkactors.zkvm.program import Program

__all__ = ["field_elements", "inputs_for", "program_sources", "programs"]

#: Loops nest at most this deep, so each depth can own one counter register.
_MAX_DEPTH = 2
#: Iterations of one loop at most; together with the depth this keeps budgets meaningful.
_MAX_ITERATIONS = 4
_SCRATCH = ("t0", "t1")
_CONSTANT = "c"


def field_elements() -> st.SearchStrategy[int]:
    """Field elements in [0, p), biased towards the values that change control flow and
    arithmetic: 0 (a ``jz`` is taken, ``inv`` would fail), 1, small numbers and values
    just below p (which wrap around)."""
    return st.one_of(
        st.sampled_from((0, 1, 2, P - 1, P - 2)),
        st.integers(0, 16),
        st.integers(0, P - 1),
    )


def inputs_for(program: Program) -> st.SearchStrategy[tuple[int, ...]]:
    """Inputs for ``program``: a tuple of ``program.n_inputs`` field elements (see
    :func:`field_elements`)."""
    if not isinstance(program, Program):
        raise TypeError(f"inputs_for needs a Program, got {type(program).__name__}")
    n = program.n_inputs
    return st.tuples(*[field_elements() for _ in range(n)])


@attrs.frozen
class _Code:
    """Assembly lines with their worst-case cycles and their instruction count."""

    lines: tuple[str, ...] = ()
    cycles: int = 0
    size: int = 0

    def __add__(self, other: _Code) -> _Code:
        return _Code(self.lines + other.lines, self.cycles + other.cycles, self.size + other.size)


def _ins(*lines: str) -> _Code:
    """Straight-line instructions: each costs one cycle (labels are not instructions)."""
    size = sum(1 for line in lines if not line.endswith(":"))
    return _Code(tuple(lines), size, size)


class _Builder:
    """Draws one program's blocks; every method keeps ``cycles <= budget`` and
    ``size <= room`` for the code it returns."""

    def __init__(self, draw: st.DrawFn, data: tuple[str, ...], may_fail: bool) -> None:
        self.draw = draw
        self.data = data
        self.may_fail = may_fail
        self.written: set[str] = set()
        self.labels = 0

    def label(self) -> str:
        self.labels += 1
        return f"L{self.labels}"

    def reg(self) -> str:
        return self.draw(st.sampled_from(self.data))

    def dest(self) -> str:
        name = self.reg()
        self.written.add(name)
        return name

    def scratch(self, name: str) -> str:
        self.written.add(name)
        return name

    def imm(self) -> str:
        value = self.draw(
            st.one_of(st.integers(0, 9), st.sampled_from((P - 1, P - 2)), st.integers(0, P - 1))
        )
        form = self.draw(st.sampled_from(("dec", "neg", "hex")))
        if form == "neg" and value:
            return f"-{P - value}"  # the assembler reads -x as p - x
        if form == "hex":
            return hex(value)
        return str(value)

    def nonzero_imm(self) -> str:
        value = self.draw(st.one_of(st.integers(1, 9), st.integers(1, P - 1)))
        return str(value) if self.draw(st.booleans()) else f"-{P - value}"

    # ---- blocks ----

    def arithmetic(self) -> _Code:
        kind = self.draw(
            st.sampled_from(("add", "set", "mov", "sub", "mul", "addi", "subi", "muli"))
        )
        if kind == "set":
            return _ins(f"set {self.dest()}, {self.imm()}")
        if kind == "mov":
            source = self.reg()
            return _ins(f"mov {self.dest()}, {source}")
        if kind in ("add", "sub", "mul"):
            a, b = self.reg(), self.reg()
            return _ins(f"{kind} {self.dest()}, {a}, {b}")
        a = self.reg()
        return _ins(f"{kind} {self.dest()}, {a}, {self.imm()}")

    def inverse(self, budget: int) -> _Code:
        """``inv`` that never sees 0: on a nonzero constant, behind ``jz`` on its operand,
        or the full inverse check ``a · a⁻¹ = 1``."""
        options = ["const", "guarded"] + (["checked"] if budget >= 5 else [])
        kind = self.draw(st.sampled_from(options))
        t0, t1 = _SCRATCH
        if kind == "const":
            constant = self.nonzero_imm()
            return _ins(f"set {self.scratch(t0)}, {constant}", f"inv {self.dest()}, {t0}")
        a = self.reg()
        skip = self.label()
        if kind == "guarded":
            return _ins(f"jz {a}, {skip}", f"inv {self.dest()}, {a}", f"{skip}:")
        return _ins(
            f"jz {a}, {skip}",
            f"inv {self.scratch(t0)}, {a}",
            f"mul {self.scratch(t1)}, {t0}, {a}",
            f"subi {t1}, {t1}, 1",
            f"assert_zero {t1}",
            f"{skip}:",
        )

    def assertion(self, budget: int) -> _Code:
        """``assert_eq`` / ``assert_zero`` on identities that hold for every input."""
        options = ["eq_self"]
        if budget >= 2:
            options += ["eq_copy", "zero_diff", "zero_const"]
        if budget >= 3:
            options.append("eq_roundtrip")
        kind = self.draw(st.sampled_from(options))
        t0 = _SCRATCH[0]
        a = self.reg()
        if kind == "eq_self":
            return _ins(f"assert_eq {a}, {a}")
        if kind == "eq_copy":
            first = self.draw(st.booleans())
            check = f"assert_eq {a}, {t0}" if first else f"assert_eq {t0}, {a}"
            return _ins(f"mov {self.scratch(t0)}, {a}", check)
        if kind == "zero_diff":
            return _ins(f"sub {self.scratch(t0)}, {a}, {a}", f"assert_zero {t0}")
        if kind == "zero_const":
            return _ins(f"muli {self.scratch(t0)}, {a}, 0", f"assert_zero {t0}")
        b = self.reg()
        return _ins(
            f"add {self.scratch(t0)}, {a}, {b}",
            f"sub {t0}, {t0}, {b}",
            f"assert_eq {t0}, {a}",
        )

    def failing(self) -> _Code:
        """Unguarded ``inv`` and assertions: these may stop the run with an error."""
        kind = self.draw(st.sampled_from(("inv", "assert_zero", "assert_eq")))
        a = self.reg()
        if kind == "inv":
            return _ins(f"inv {self.dest()}, {a}")
        if kind == "assert_zero":
            return _ins(f"assert_zero {a}")
        return _ins(f"assert_eq {a}, {self.reg()}")

    def skip(self, budget: int, room: int, depth: int) -> _Code:
        """``jz``/``jnz`` over a body, on a data register or on a constant set just
        before (so the branch goes the chosen way whatever the inputs)."""
        branch = self.draw(st.sampled_from(("jz", "jnz")))
        forced = budget >= 3 and room >= 3 and self.draw(st.booleans())
        head: _Code = _Code()
        if forced:
            value = self.draw(st.sampled_from(("0", "1", self.nonzero_imm())))
            head = _ins(f"set {self.scratch(_CONSTANT)}, {value}")
            test = _CONSTANT
        else:
            test = self.reg()
        end = self.label()
        spent = head.size + 1
        body = self.sequence(budget - spent, room - spent, depth)
        return head + _ins(f"{branch} {test}, {end}") + body + _ins(f"{end}:")

    def early_halt(self) -> _Code:
        branch = self.draw(st.sampled_from(("jz", "jnz")))
        end = self.label()
        return _ins(f"{branch} {self.reg()}, {end}", "halt", f"{end}:")

    def loop_bottom(self, budget: int, room: int, depth: int) -> _Code:
        """``set k, n; top: body; subi k, k, 1; jnz k, top``: 1 + n · (body + 2) cycles."""
        counter = f"k{depth}"
        n = self.draw(st.integers(1, min(_MAX_ITERATIONS, (budget - 1) // 3)))
        body_budget = (budget - 1) // n - 2
        body = self.sequence(body_budget, room - 3, depth + 1)
        top = self.label()
        lines = (
            f"set {self.scratch(counter)}, {n}",
            f"{top}:",
            *body.lines,
            f"subi {counter}, {counter}, 1",
            f"jnz {counter}, {top}",
        )
        return _Code(lines, 1 + n * (body.cycles + 2), body.size + 3)

    def loop_top(self, budget: int, room: int, depth: int) -> _Code:
        """``set k, n; top: jz k, end; body; subi k, k, 1; jmp top; end:``:
        2 + n · (body + 3) cycles; n may be 0 (the body never runs)."""
        counter = f"k{depth}"
        n = self.draw(st.integers(0, min(_MAX_ITERATIONS, (budget - 2) // 4)))
        body_budget = (budget - 2) // n - 3 if n else min(room - 4, 8)
        body = self.sequence(body_budget, room - 4, depth + 1)
        top, end = self.label(), self.label()
        lines = (
            f"set {self.scratch(counter)}, {n}",
            f"{top}:",
            f"jz {counter}, {end}",
            *body.lines,
            f"subi {counter}, {counter}, 1",
            f"jmp {top}",
            f"{end}:",
        )
        return _Code(lines, 2 + n * (body.cycles + 3), body.size + 4)

    def block(self, budget: int, room: int, depth: int) -> _Code:
        """One block that fits; the caller guarantees ``budget >= 1`` and ``room >= 1``."""
        fits = min(budget, room)
        kinds: list[tuple[str, Callable[[], _Code]]] = [("arithmetic", self.arithmetic)]
        if self.may_fail:
            kinds.append(("failing", self.failing))
        if fits >= 1:
            kinds.append(("assertion", lambda: self.assertion(fits)))
        if fits >= 2:
            kinds += [
                ("inverse", lambda: self.inverse(fits)),
                ("skip", lambda: self.skip(budget, room, depth)),
                ("early_halt", self.early_halt),
            ]
        if depth < _MAX_DEPTH and fits >= 4:
            kinds.append(("loop_bottom", lambda: self.loop_bottom(budget, room, depth)))
        if depth < _MAX_DEPTH and room >= 5 and budget >= 2:
            kinds.append(("loop_top", lambda: self.loop_top(budget, room, depth)))
        _, make = self.draw(st.sampled_from(kinds))
        code = make()
        assert code.cycles <= budget and code.size <= room, (code, budget, room)
        return code

    def sequence(self, budget: int, room: int, depth: int) -> _Code:
        """At least one block (if anything fits), then more while the budget lasts."""
        code = _Code()
        count = self.draw(st.integers(1, 6))
        for _ in range(count):
            left, space = budget - code.cycles, room - code.size
            if left < 1 or space < 1:
                break
            code = code + self.block(left, space, depth)
        return code


def _check_budget(max_cycles: object, max_instructions: object) -> tuple[int, int]:
    if isinstance(max_cycles, bool) or not isinstance(max_cycles, int) or max_cycles < 1:
        raise ValueError(f"max_cycles must be an int >= 1 (a halt takes one), got {max_cycles!r}")
    if (
        isinstance(max_instructions, bool)
        or not isinstance(max_instructions, int)
        or not 1 <= max_instructions <= MAX_INSTRUCTIONS
    ):
        raise ValueError(
            f"max_instructions must be an int in [1, {MAX_INSTRUCTIONS}], got {max_instructions!r}"
        )
    return max_cycles, max_instructions


def _check_count(name: str, value: object, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise ValueError(f"{name} must be an int in [0, {limit}], got {value!r}")
    return value


@st.composite
def _sources(
    draw: st.DrawFn,
    max_cycles: int,
    max_instructions: int,
    max_inputs: int,
    max_outputs: int,
    may_fail: bool,
) -> str:
    inputs = tuple(f"x{i}" for i in range(draw(st.integers(0, max_inputs), label="inputs")))
    data = inputs + tuple(f"r{i}" for i in range(draw(st.integers(1, 5), label="registers")))
    builder = _Builder(draw, data, may_fail)
    # Either `blocks; halt`, or `jmp main; end: halt; main: blocks; jmp end`, whose last
    # instruction is a jmp (the other ending the protocol allows).
    jump_end = max_cycles >= 4 and max_instructions >= 4 and draw(st.booleans(), label="jmp end")
    overhead = 3 if jump_end else 1
    body = builder.sequence(max_cycles - overhead, max_instructions - overhead, 0)
    if jump_end:
        code = _ins("jmp main", "end:", "halt", "main:") + body + _ins("jmp end")
    else:
        code = body + _ins("halt")
    assert code.cycles <= max_cycles and code.size <= max_instructions
    candidates = sorted(set(inputs) | builder.written)
    outputs = draw(
        st.lists(st.sampled_from(candidates), max_size=max_outputs) if candidates else st.just([]),
        label="outputs",
    )
    header = []
    if inputs:
        header.append(".input " + ", ".join(inputs))
    if outputs:
        header.append(".output " + ", ".join(outputs))
    body_lines = [line if line.endswith(":") else f"    {line}" for line in code.lines]
    return "\n".join(header + body_lines) + "\n"


def program_sources(
    *,
    max_cycles: int = 64,
    max_instructions: int = 32,
    max_inputs: int = 3,
    max_outputs: int = 4,
    may_fail: bool = False,
) -> st.SearchStrategy[str]:
    """Assembly text of the programs :func:`programs` draws (same parameters)."""
    cycles, instructions = _check_budget(max_cycles, max_instructions)
    return _sources(
        cycles,
        instructions,
        _check_count("max_inputs", max_inputs, MAX_INPUTS),
        _check_count("max_outputs", max_outputs, MAX_OUTPUTS),
        bool(may_fail),
    )


def programs(
    *,
    max_cycles: int = 64,
    max_instructions: int = 32,
    max_inputs: int = 3,
    max_outputs: int = 4,
    may_fail: bool = False,
) -> st.SearchStrategy[Program]:
    """Valid programs that halt within ``max_cycles`` cycles on *every* input.

    :param max_cycles: the cycle budget (>= 1): an upper bound on the run's cycles,
        including the final ``halt``, whatever the inputs. Runs are often shorter
        (branches skip code, loops may run 0 times).
    :param max_instructions: at most this many instructions (1..128). Proving cost grows
        with it (one trace column per instruction).
    :param max_inputs: at most this many ``.input`` registers (0..16).
    :param max_outputs: at most this many ``.output`` entries (0..16; may repeat).
    :param may_fail: also emit unguarded ``inv`` and assertions on arbitrary registers,
        so some runs fail with :class:`~zkactors.errors.ExecutionError` (still within
        the budget). With the default ``False`` every run on any inputs succeeds.
    :raises ValueError: (at once) for a parameter out of range.
    """
    return program_sources(
        max_cycles=max_cycles,
        max_instructions=max_instructions,
        max_inputs=max_inputs,
        max_outputs=max_outputs,
        may_fail=may_fail,
    ).map(assemble)
