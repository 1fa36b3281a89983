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

About one program in four is a *machine program* (instruction set v2, unless
``machine=False``), which may also use:

- ``load`` / ``store`` at absolute addresses, at ``[m ± imm]`` for a base register ``m``
  set once to a constant, and at ``[k + imm]`` for an enclosing loop's counter ``k``:
  mostly a handful of small addresses, so the same cells are hit again, and sometimes
  large ones up to 2^32 − 1. Every address is in range whatever the inputs;
- ``read`` (the stream inputs :func:`inputs_for` supplies are exactly those the run
  reads) and ``write``;
- a long straight-line block (50 to 600 instructions), run when the budget allows and
  jumped over otherwise, so programs far beyond the register AIR's 128 instructions
  occur.

The program is emitted as assembly text and assembled, so the assembler is exercised on
every example, and the text can be drawn on its own (:func:`program_sources`).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs
from hypothesis import strategies as st

from zkactors.errors import ExecutionError
from zkactors.zkvm import interpreter
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.isa import (
    ADDRESS_LIMIT,
    MAX_INPUTS,
    MAX_INSTRUCTIONS,
    MAX_OUTPUTS,
    V2_MAX_INPUTS,
    V2_MAX_INSTRUCTIONS,
    V2_MAX_OUTPUTS,
    Op,
    P,
)
from zkactors.zkvm.program import Program

__all__ = ["field_elements", "inputs_for", "program_sources", "programs"]

#: Loops nest at most this deep, so each depth can own one counter register.
_MAX_DEPTH = 2
#: Iterations of one loop at most; together with the depth this keeps budgets meaningful.
_MAX_ITERATIONS = 4
_SCRATCH = ("t0", "t1")
_CONSTANT = "c"
#: The base register of machine programs: set once, in the prologue, to a constant.
_BASE = "m"
#: Default instruction bounds: register-AIR programs stay small (AIR 1's width grows with
#: the instruction count); machine programs may be long (AIR 2's width is fixed).
_DEFAULT_INSTRUCTIONS = 32
_DEFAULT_MACHINE_INSTRUCTIONS = 600
_LONG_MIN, _LONG_MAX = 50, 600
#: inputs_for runs a program with read at most this long to learn how much it reads.
_DISCOVERY_CYCLES = 1 << 20
_DISCOVERY_READS = 1024


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
    """Inputs for ``program``: ``program.n_inputs`` field elements (see
    :func:`field_elements`) and, for a program with ``read``, the stream inputs its run
    on them reads, found by running it in the Python interpreter, so a read never runs
    past the end and none is left unread. For a run that fails (or reads more than 1,024
    values, or runs more than 2^20 cycles) the stream is what it read before failing."""
    if not isinstance(program, Program):
        raise TypeError(f"inputs_for needs a Program, got {type(program).__name__}")
    n = program.n_inputs
    registers = st.tuples(*[field_elements() for _ in range(n)])
    if not program.reads_stream:
        return registers
    return _with_stream(program, registers)


@st.composite
def _with_stream(
    draw: st.DrawFn, program: Program, registers: st.SearchStrategy[tuple[int, ...]]
) -> tuple[int, ...]:
    """``registers`` then the stream the run reads. The run is repeated with a stream
    twice as long each time a read finds it exhausted, then cut to what was read (how
    much a run reads depends only on the values it has read, so the cut run is the
    same run): a few runs, not one per value."""
    values = draw(registers)
    stream: list[int] = []
    while True:
        reads, error = _run_counting_reads(program, values + tuple(stream))
        if error is None:
            break
        failed = program.instructions[error.pc].op if error.pc is not None else None
        if failed is Op.READ and len(stream) < _DISCOVERY_READS:
            # Reading past the end: draw more, as many again as there are.
            more = min(max(len(stream), 1), _DISCOVERY_READS - len(stream))
            stream += [draw(field_elements()) for _ in range(more)]
            continue
        if failed is Op.HALT and reads < len(stream):
            stream = stream[:reads]  # halted with values left: they were never needed
            continue
        # A failure of the program itself (or the caps): keep what it read.
        stream = stream[:reads]
        break
    return values + tuple(stream)


def _run_counting_reads(
    program: Program, inputs: tuple[int, ...]
) -> tuple[int, ExecutionError | None]:
    """How many stream inputs a run on ``inputs`` reads before it halts or fails, and
    its error (None if it halted having read them all)."""
    reads = 0
    try:
        for step in interpreter.steps(program, inputs, _DISCOVERY_CYCLES):
            reads += step.instruction.op is Op.READ
    except ExecutionError as exc:
        return reads, exc
    return reads, None


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

    def __init__(
        self,
        draw: st.DrawFn,
        data: tuple[str, ...],
        may_fail: bool,
        machine: bool = False,
        base: int | None = None,
    ) -> None:
        self.draw = draw
        self.data = data
        self.may_fail = may_fail
        self.machine = machine
        self.base = base  # the value of _BASE, if the prologue set it
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

    def address_value(self) -> int:
        """An address in [0, 2^32): mostly one of a few small ones (so cells are stored
        and loaded again), sometimes the top of the range or anywhere."""
        return self.draw(
            st.one_of(
                st.integers(0, 7),
                st.integers(0, 7),
                st.sampled_from((ADDRESS_LIMIT - 1, ADDRESS_LIMIT - 2, 2**31)),
                st.integers(0, ADDRESS_LIMIT - 1),
            )
        )

    def address(self, depth: int) -> str:
        """An address operand that is in range on every run: ``[imm]``, ``[m ± imm]``
        (m holds ``self.base``) or ``[k + imm]`` / ``[k - 1]`` for the counter k of an
        enclosing loop (1 <= k <= _MAX_ITERATIONS inside the body)."""
        forms = ["abs"] + (["base", "base"] if self.base is not None else [])
        forms += ["counter"] if depth > 0 else []
        form = self.draw(st.sampled_from(forms))
        if form == "counter":
            counter = f"k{self.draw(st.integers(0, depth - 1))}"
            offset = self.draw(st.integers(-1, 8))
            return f"[{counter} - 1]" if offset < 0 else f"[{counter} + {offset}]"
        value = self.address_value()
        if form == "abs":
            return f"[{value}]" if self.draw(st.booleans()) else f"[{hex(value)}]"
        assert self.base is not None
        offset = value - self.base
        if offset == 0 and self.draw(st.booleans()):
            return f"[{_BASE}]"
        return f"[{_BASE} - {-offset}]" if offset < 0 else f"[{_BASE} + {offset}]"

    # ---- blocks ----

    def memory(self, depth: int) -> _Code:
        """A ``load`` or a ``store`` at an address that is always in range."""
        address = self.address(depth)
        if self.draw(st.booleans()):
            return _ins(f"store {address}, {self.reg()}")
        return _ins(f"load {self.dest()}, {address}")

    def stream(self) -> _Code:
        """``read`` into a data register, or ``write`` one."""
        if self.draw(st.booleans()):
            return _ins(f"read {self.dest()}")
        return _ins(f"write {self.reg()}")

    def machine_block(self, depth: int) -> _Code:
        return self.memory(depth) if self.draw(st.booleans()) else self.stream()

    def bad_address(self) -> _Code:
        """A ``load``/``store`` at a data register's value: fails when that is >= 2^32."""
        a = self.reg()
        if self.draw(st.booleans()):
            return _ins(f"load {self.dest()}, [{a}]")
        return _ins(f"store [{a}], {self.reg()}")

    def long(self, budget: int, room: int) -> _Code:
        """A straight-line block of 50 to 600 instructions, generated from one drawn
        seed (cheap for hypothesis): run if the budget allows, else jumped over."""
        longest = min(_LONG_MAX, room - 1)
        runnable = min(longest, budget)  # lengths that may run, favoured when there are any
        sizes = st.integers(_LONG_MIN, longest)
        if runnable >= _LONG_MIN:
            sizes = st.one_of(st.integers(_LONG_MIN, runnable), sizes)
        size = self.draw(sizes, label="long size")
        rng = random.Random(self.draw(st.integers(0, 2**32 - 1), label="long seed"))
        lines = [self._long_line(rng) for _ in range(size)]
        if size <= budget and self.draw(st.booleans()):
            return _Code(tuple(lines), size, size)
        over = self.label()
        return _Code((f"jmp {over}", *lines, f"{over}:"), 1, size + 1)

    def _long_address(self, rng: random.Random) -> str:
        """One of 8 cells: absolute, or (half the time, if there is one) off the base."""
        if self.base is None or rng.random() < 0.5:
            return f"[{rng.randrange(8)}]"
        offset = rng.randrange(-8, 8) if self.base >= 8 else rng.randrange(8)
        return f"[{_BASE} - {-offset}]" if offset < 0 else f"[{_BASE} + {offset}]"

    def _long_line(self, rng: random.Random) -> str:
        """One instruction of a long block: arithmetic, or (sparingly) memory at small
        addresses, a read or a write; never anything that can fail."""
        a, b = rng.choice(self.data), rng.choice(self.data)
        dest = rng.choice(self.data)
        kind = rng.choices(
            ("add", "sub", "mul", "addi", "muli", "store", "load", "read", "write"),
            weights=(4, 2, 3, 4, 2, 2, 2, 1, 1),
        )[0]
        if kind == "write":
            return f"write {a}"
        if kind == "store":
            return f"store {self._long_address(rng)}, {a}"
        self.written.add(dest)
        if kind == "load":
            return f"load {dest}, {self._long_address(rng)}"
        if kind == "read":
            return f"read {dest}"
        if kind in ("addi", "muli"):
            return f"{kind} {dest}, {a}, {rng.randrange(P)}"
        return f"{kind} {dest}, {a}, {b}"

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
        if self.machine:
            kinds += [("memory", lambda: self.memory(depth)), ("stream", self.stream)]
            if self.may_fail:
                kinds.append(("bad_address", self.bad_address))
            if room > _LONG_MIN:
                kinds.append(("long", lambda: self.long(budget, room)))
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


def _check_budget(max_cycles: object, max_instructions: object) -> tuple[int, int | None]:
    if isinstance(max_cycles, bool) or not isinstance(max_cycles, int) or max_cycles < 1:
        raise ValueError(f"max_cycles must be an int >= 1 (a halt takes one), got {max_cycles!r}")
    if max_instructions is not None and (
        isinstance(max_instructions, bool)
        or not isinstance(max_instructions, int)
        or not 1 <= max_instructions <= V2_MAX_INSTRUCTIONS
    ):
        raise ValueError(
            f"max_instructions must be None or an int in [1, {V2_MAX_INSTRUCTIONS}], "
            f"got {max_instructions!r}"
        )
    return max_cycles, max_instructions


def _check_count(name: str, value: object, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise ValueError(f"{name} must be an int in [0, {limit}], got {value!r}")
    return value


@attrs.frozen
class _Limits:
    """What one drawn program may use; a register-AIR program is held to the v1 limits."""

    cycles: int
    instructions: int
    inputs: int
    outputs: int


def _limits(
    machine: bool, cycles: int, instructions: int | None, inputs: int, outputs: int
) -> _Limits:
    if machine:
        default = _DEFAULT_MACHINE_INSTRUCTIONS
        return _Limits(cycles, instructions or default, inputs, outputs)
    size = min(instructions or _DEFAULT_INSTRUCTIONS, MAX_INSTRUCTIONS)
    return _Limits(cycles, size, min(inputs, MAX_INPUTS), min(outputs, MAX_OUTPUTS))


@st.composite
def _sources(
    draw: st.DrawFn,
    max_cycles: int,
    max_instructions: int | None,
    max_inputs: int,
    max_outputs: int,
    may_fail: bool,
    machine: bool,
) -> str:
    # About one program in four is a machine program; shrinking leads to the other kind.
    is_machine = (
        machine
        and max_cycles >= 3
        and (max_instructions or 3) >= 3
        and draw(st.integers(0, 3), label="machine") == 3
    )
    limits = _limits(is_machine, max_cycles, max_instructions, max_inputs, max_outputs)
    inputs = tuple(f"x{i}" for i in range(draw(st.integers(0, limits.inputs), label="inputs")))
    data = inputs + tuple(f"r{i}" for i in range(draw(st.integers(1, 5), label="registers")))
    prologue = _Code()
    base = None
    if is_machine:
        base = draw(st.sampled_from((0, 8, 2**31, ADDRESS_LIMIT - 16)), label="base")
        prologue = _ins(f"set {_BASE}, {base}")
    builder = _Builder(draw, data, may_fail, machine=is_machine, base=base)
    if is_machine:
        builder.written.add(_BASE)
        # One v2 instruction for certain, so a machine program is not a v1 one by chance.
        prologue = prologue + builder.machine_block(0)
    # Either `blocks; halt`, or `jmp main; end: halt; main: blocks; jmp end`, whose last
    # instruction is a jmp (the other ending the protocol allows).
    budget, room = limits.cycles - prologue.cycles, limits.instructions - prologue.size
    jump_end = budget >= 4 and room >= 4 and draw(st.booleans(), label="jmp end")
    overhead = 3 if jump_end else 1
    body = prologue + builder.sequence(budget - overhead, room - overhead, 0)
    if jump_end:
        code = _ins("jmp main", "end:", "halt", "main:") + body + _ins("jmp end")
    else:
        code = body + _ins("halt")
    assert code.cycles <= limits.cycles and code.size <= limits.instructions
    candidates = sorted(set(inputs) | builder.written)
    outputs = draw(
        st.lists(st.sampled_from(candidates), max_size=limits.outputs)
        if candidates
        else st.just([]),
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
    max_instructions: int | None = None,
    max_inputs: int = 3,
    max_outputs: int = 4,
    may_fail: bool = False,
    machine: bool = True,
) -> st.SearchStrategy[str]:
    """Assembly text of the programs :func:`programs` draws (same parameters)."""
    cycles, instructions = _check_budget(max_cycles, max_instructions)
    return _sources(
        cycles,
        instructions,
        _check_count("max_inputs", max_inputs, V2_MAX_INPUTS),
        _check_count("max_outputs", max_outputs, V2_MAX_OUTPUTS),
        bool(may_fail),
        bool(machine),
    )


def programs(
    *,
    max_cycles: int = 64,
    max_instructions: int | None = None,
    max_inputs: int = 3,
    max_outputs: int = 4,
    may_fail: bool = False,
    machine: bool = True,
) -> st.SearchStrategy[Program]:
    """Valid programs that halt within ``max_cycles`` cycles on *every* input (for a
    program with ``read``: on every ``.input`` values with the stream inputs its run
    reads, which :func:`inputs_for` draws).

    :param max_cycles: the cycle budget (>= 1): an upper bound on the run's cycles,
        including the final ``halt``, whatever the inputs. Runs are often shorter
        (branches skip code, loops may run 0 times).
    :param max_instructions: at most this many instructions (1..65,536). By default 32
        for programs that fit the register AIR (one of its trace columns per
        instruction) and 600 for machine programs; a register-AIR program never has more
        than 128.
    :param max_inputs: at most this many ``.input`` registers (0..256; 16 for a
        register-AIR program).
    :param max_outputs: at most this many ``.output`` entries (0..256, may repeat; 16
        for a register-AIR program). Machine programs may ``write`` more outputs.
    :param may_fail: also emit unguarded ``inv`` and assertions on arbitrary registers
        (and, in machine programs, loads and stores at a register's value, which fail
        when it is 2^32 or more), so some runs fail with
        :class:`~zkactors.errors.ExecutionError` (still within the budget). With the
        default ``False`` every run on any inputs succeeds.
    :param machine: with the default ``True`` about one program in four is a machine
        program (memory, ``read``/``write``, long blocks: see the module's docstring),
        which only the machine AIR proves; ``False`` draws only programs that fit the
        register AIR (:attr:`Program.fits_register_air`).
    :raises ValueError: (at once) for a parameter out of range.
    """
    return program_sources(
        max_cycles=max_cycles,
        max_instructions=max_instructions,
        max_inputs=max_inputs,
        max_outputs=max_outputs,
        may_fail=may_fail,
        machine=machine,
    ).map(assemble)
