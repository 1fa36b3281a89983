"""The pure-Python zkVM interpreter: the TEST ORACLE for the native executor.

This module is the semantics of docs/protocol.md 4 written as plainly as possible, so it
can be read against the specification line by line. It is slow on purpose (Python ints,
one loop iteration per cycle, a Fermat exponentiation per helper entry) and is used only
by tests and tools that check ``ext/vm.c`` and the provers against it; production code
runs :func:`zkactors.zkvm.execute.execute`. Errors are raised exactly as the native
executor's wrapper raises them, so a test can compare failures too.
"""

from __future__ import annotations

from collections.abc import Sequence

from zkactors.errors import CycleLimitExceeded, ExecutionError
from zkactors.zkvm.isa import Op, P
from zkactors.zkvm.program import Program

DEFAULT_MAX_CYCLES = 2**22


def trace_length(cycles: int) -> int:
    """T = max(8, next power of two >= cycles + 1)."""
    length = 8
    while length < cycles + 1:
        length *= 2
    return length


def cycle_limit_error(max_cycles: int) -> CycleLimitExceeded:
    # Names the library's parameter (of execute, prove and RuntimeConfig); a command line
    # adds its own flag to the message.
    return CycleLimitExceeded(
        f"the program did not halt within {max_cycles} cycles; if it is meant to run "
        "longer, pass a larger max_cycles",
        max_cycles=max_cycles,
    )


def inv_zero_error(program: Program, pc: int) -> ExecutionError:
    ins = program.instructions[pc]
    line = program.source_line(pc)
    return ExecutionError(
        f"inv of zero at pc {pc} ({line.strip()}): register "
        f"'{program.registers[ins.ra]}' is 0, which has no inverse",
        pc=pc,
        source_line=line,
    )


def assert_error(program: Program, pc: int) -> ExecutionError:
    ins = program.instructions[pc]
    line = program.source_line(pc)
    a = program.registers[ins.ra]
    if ins.op is Op.ASSERT_ZERO:
        detail = f"register '{a}' is not 0"
    else:
        detail = f"registers '{a}' and '{program.registers[ins.rb]}' differ"
    return ExecutionError(
        f"assertion failed at pc {pc} ({line.strip()}): {detail}", pc=pc, source_line=line
    )


def _step(program: Program, regs: list[int], pc: int) -> int:
    """Execute the instruction at ``pc`` on ``regs`` (in place); return the next pc."""
    ins = program.instructions[pc]
    op = ins.op
    # Unused fields are 0, which is no register at all in a program without registers.
    a = regs[ins.ra] if regs else 0
    b = regs[ins.rb] if regs else 0
    if op is Op.SET:
        regs[ins.rd] = ins.imm
    elif op is Op.MOV:
        regs[ins.rd] = a
    elif op is Op.ADD:
        regs[ins.rd] = (a + b) % P
    elif op is Op.SUB:
        regs[ins.rd] = (a - b) % P
    elif op is Op.MUL:
        regs[ins.rd] = a * b % P
    elif op is Op.ADDI:
        regs[ins.rd] = (a + ins.imm) % P
    elif op is Op.SUBI:
        regs[ins.rd] = (a - ins.imm) % P
    elif op is Op.MULI:
        regs[ins.rd] = a * ins.imm % P
    elif op is Op.INV:
        if a == 0:
            raise inv_zero_error(program, pc)
        regs[ins.rd] = pow(a, P - 2, P)
    elif op is Op.ASSERT_ZERO:
        if a != 0:
            raise assert_error(program, pc)
    elif op is Op.ASSERT_EQ:
        if a != b:
            raise assert_error(program, pc)
    elif op is Op.JMP:
        return ins.target
    elif op is Op.JZ:
        return ins.target if a == 0 else pc + 1
    elif op is Op.JNZ:
        return ins.target if a != 0 else pc + 1
    elif op is Op.HALT:
        return pc
    return pc + 1


def _states(
    program: Program, inputs: Sequence[int], max_cycles: int
) -> list[tuple[int, tuple[int, ...]]]:
    """(pc, registers at the start of the cycle) for every cycle up to and including halt."""
    values = program.check_inputs(inputs)
    regs = list(values) + [0] * (len(program.registers) - program.n_inputs)
    pc = 0
    states = []
    for _ in range(max_cycles):
        states.append((pc, tuple(regs)))
        if program.instructions[pc].op is Op.HALT:
            return states
        pc = _step(program, regs, pc)
    raise cycle_limit_error(max_cycles)


def run(
    program: Program, inputs: Sequence[int], max_cycles: int = DEFAULT_MAX_CYCLES
) -> tuple[tuple[int, ...], int]:
    """Run ``program``; return (outputs, cycles), cycles counting the halt.

    :raises InputError: for inputs of the wrong count or range.
    :raises ExecutionError: on inv of 0, a failed assertion, or no halt within max_cycles.
    """
    states = _states(program, inputs, max_cycles)
    _, regs = states[-1]
    return tuple(regs[r] for r in program.output_registers), len(states)


def trace(
    program: Program, inputs: Sequence[int], max_cycles: int = DEFAULT_MAX_CYCLES
) -> list[list[int]]:
    """The execution trace of protocol.md 4 as ``trace_width`` columns of T values each.

    Columns: registers at the start of each cycle, one selector per instruction, one
    inverse helper per jz/jnz (``1/a`` or 0 for the tested register ``a``, on every row).
    Rows after the halt row repeat it.
    """
    states = _states(program, inputs, max_cycles)
    length = trace_length(len(states))
    states += [states[-1]] * (length - len(states))
    n_registers = len(program.registers)
    columns = [[regs[r] for _, regs in states] for r in range(n_registers)]
    for k in range(len(program.instructions)):
        columns.append([1 if pc == k else 0 for pc, _ in states])
    for k in program.branch_indices:
        tested = columns[program.instructions[k].ra]
        columns.append([pow(a, P - 2, P) if a else 0 for a in tested])
    return columns
