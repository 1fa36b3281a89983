"""Hypothesis strategies for valid zkVM programs that always terminate, and their inputs.

A program is straight-line code mixed with bounded loops: a counter register set to a
small constant and counted down to zero (bottom-tested with ``jnz`` or top-tested with
``jz`` + ``jmp``), and forward ``jz``/``jnz`` skips, which can only shorten a run. Loop
bodies never write their counter, so every loop ends. ``inv`` and the assertions appear
too, so failing runs (inv of 0, failed assertion) are generated as well as good ones.
Programs are produced as assembly text and assembled, so the assembler is exercised too.
"""

from __future__ import annotations

from hypothesis import strategies as st

from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.isa import P
from zkactors.zkvm.program import Program

DATA = ("a", "b", "c", "d", "e")
INPUT_NAMES = ("x", "y", "z")

field_elements = st.one_of(
    st.integers(0, 5),
    st.integers(P - 3, P - 1),
    st.integers(0, P - 1),
)
immediates = st.one_of(st.integers(-3, 5), st.integers(0, P - 1), st.integers(-(P - 1), 0))


@st.composite
def _straight(draw: st.DrawFn, registers: tuple[str, ...], failing: bool) -> str:
    reg = st.sampled_from(registers)
    kinds = ["set", "mov", "add", "sub", "mul", "addi", "subi", "muli"]
    if failing:
        kinds += ["inv", "assert_zero", "assert_eq"]
    kind = draw(st.sampled_from(kinds))
    if kind == "set":
        return f"set {draw(reg)}, {draw(immediates)}"
    if kind in ("mov", "inv"):
        return f"{kind} {draw(reg)}, {draw(reg)}"
    if kind in ("add", "sub", "mul"):
        return f"{kind} {draw(reg)}, {draw(reg)}, {draw(reg)}"
    if kind == "assert_zero":
        return f"assert_zero {draw(reg)}"
    if kind == "assert_eq":
        return f"assert_eq {draw(reg)}, {draw(reg)}"
    return f"{kind} {draw(reg)}, {draw(reg)}, {draw(immediates)}"


@st.composite
def program_sources(draw: st.DrawFn, *, failing: bool = True) -> str:
    """Assembly text of a valid, terminating program."""
    n_inputs = draw(st.integers(0, len(INPUT_NAMES)))
    inputs = INPUT_NAMES[:n_inputs]
    registers = inputs + DATA[: draw(st.integers(1, len(DATA)))]
    lines: list[str] = []
    labels = 0

    def label() -> str:
        nonlocal labels
        labels += 1
        return f"L{labels}"

    for block in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["straight", "straight", "jnz_loop", "jz_loop", "skip"]))
        body = [draw(_straight(registers, failing)) for _ in range(draw(st.integers(1, 4)))]
        counter = f"k{block}"
        if kind == "straight":
            lines += body
        elif kind == "jnz_loop":
            top = label()
            lines.append(f"set {counter}, {draw(st.integers(1, 4))}")
            lines.append(f"{top}: {body[0]}")
            lines += body[1:]
            lines += [f"subi {counter}, {counter}, 1", f"jnz {counter}, {top}"]
        elif kind == "jz_loop":
            top, end = label(), label()
            lines.append(f"set {counter}, {draw(st.integers(0, 4))}")
            lines.append(f"{top}: jz {counter}, {end}")
            lines += body
            lines += [f"subi {counter}, {counter}, 1", f"jmp {top}"]
            lines.append(f"{end}:")
        else:
            end = label()
            test = draw(st.sampled_from(registers))
            branch = draw(st.sampled_from(["jz", "jnz"]))
            lines.append(f"{branch} {test}, {end}")
            lines += body
            lines.append(f"{end}:")
    lines.append("halt")
    written = set(inputs)
    for line in lines:
        parts = line.split(":")[-1].split()
        if parts and parts[0] in ("set", "mov", "add", "sub", "mul", "addi", "subi", "muli", "inv"):
            written.add(parts[1].rstrip(","))
    candidates = sorted(r for r in written if not r.startswith("k"))
    outputs = draw(st.lists(st.sampled_from(candidates), max_size=4)) if candidates else []
    header = []
    if inputs:
        header.append(".input " + ", ".join(inputs))
    if outputs:
        header.append(".output " + ", ".join(outputs))
    return "\n".join(header + lines) + "\n"


@st.composite
def programs(draw: st.DrawFn, *, failing: bool = True) -> Program:
    return assemble(draw(program_sources(failing=failing)))


@st.composite
def programs_with_inputs(draw: st.DrawFn, *, failing: bool = True) -> tuple[Program, list[int]]:
    program = draw(programs(failing=failing))
    inputs = draw(st.lists(field_elements, min_size=program.n_inputs, max_size=program.n_inputs))
    return program, inputs
