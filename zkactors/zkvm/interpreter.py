"""The pure-Python zkVM interpreter: the TEST ORACLE for the native executor.

This module is the semantics of docs/protocol.md 4 and 12 written as plainly as
possible, so it can be read against the specification line by line. It is slow on
purpose (Python ints, one loop iteration per cycle, a Fermat exponentiation per helper
entry) and is used only by tests and tools that check ``ext/vm.c`` and the provers
against it; production code runs :func:`zkactors.zkvm.execute.execute`. Errors are raised
exactly as the native executor's wrapper raises them, so a test can compare failures
too: the ``*_error`` functions below build each kind, for the wrapper to raise as well.

:func:`run` gives a run's outputs and cycles; :func:`steps` yields one :class:`Step` per
cycle with everything the machine AIR's row records (values read and written, the
memory address and its value before and after, the stream positions), for the reference
AIR; :func:`trace` is the register AIR's trace.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs

from zkactors.errors import CycleLimitExceeded, ExecutionError
from zkactors.zkvm.isa import ADDRESS_LIMIT, MAX_PUBLIC_OUTPUTS, Instruction, Op, P
from zkactors.zkvm.program import Program

DEFAULT_MAX_CYCLES = 2**22


def trace_length(cycles: int) -> int:
    """T = max(8, next power of two >= cycles + 1): the register AIR's (AIR 1's) rows."""
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


def bad_address_error(program: Program, pc: int, address: int) -> ExecutionError:
    line = program.source_line(pc)
    return ExecutionError(
        f"bad address at pc {pc} ({line.strip()}): {address} is not in [0, 2^32)",
        pc=pc,
        source_line=line,
    )


def read_past_end_error(program: Program, pc: int, available: int) -> ExecutionError:
    line = program.source_line(pc)
    return ExecutionError(
        f"read past the end of the stream inputs at pc {pc} ({line.strip()}): all "
        f"{available} stream input{'s' if available != 1 else ''} were already read",
        pc=pc,
        source_line=line,
    )


def inputs_left_error(program: Program, pc: int, left: int) -> ExecutionError:
    line = program.source_line(pc)
    return ExecutionError(
        f"halted at pc {pc} ({line.strip()}) with {left} stream input"
        f"{'s' if left != 1 else ''} unread; pass only the inputs the program reads",
        pc=pc,
        source_line=line,
    )


def too_many_outputs_error(program: Program, pc: int) -> ExecutionError:
    line = program.source_line(pc)
    return ExecutionError(
        f"too many outputs at pc {pc} ({line.strip()}): a run has at most "
        f"{MAX_PUBLIC_OUTPUTS} outputs (the .output registers and the written values)",
        pc=pc,
        source_line=line,
    )


class _Machine:
    """The state of a run: registers, memory, the stream inputs and written outputs.

    ``execute`` runs one instruction; everything a cycle can fail on is raised there, as
    the ``*_error`` functions above make it (the native executor's wrapper raises the
    same ones).
    """

    def __init__(self, program: Program, inputs: Sequence[int]) -> None:
        values = program.check_inputs(inputs)
        n = program.n_inputs
        self.program = program
        self.regs = list(values[:n]) + [0] * (len(program.registers) - n)
        self.stream = values[n:]
        self.reads = 0  # stream inputs consumed so far
        self.memory: dict[int, int] = {}  # address -> value; absent means 0
        self.written: list[int] = []

    def address(self, pc: int, ins: Instruction) -> int:
        """The address a load/store at ``pc`` accesses: ``ra + imm`` (or ``imm``) in F,
        which must be an integer in [0, 2^32)."""
        base = self.regs[ins.ra] if ins.op in (Op.LOAD, Op.STORE) else 0
        address = (base + ins.imm) % P
        if address >= ADDRESS_LIMIT:
            raise bad_address_error(self.program, pc, address)
        return address

    def execute(self, pc: int) -> int:
        """Execute the instruction at ``pc`` (state in place); return the next pc."""
        program, regs = self.program, self.regs
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
            left = len(self.stream) - self.reads
            if left:
                raise inputs_left_error(program, pc, left)
            return pc
        elif op is Op.LOAD or op is Op.LOAD_ABS:
            regs[ins.rd] = self.memory.get(self.address(pc, ins), 0)
        elif op is Op.STORE or op is Op.STORE_ABS:
            self.memory[self.address(pc, ins)] = b
        elif op is Op.READ:
            if self.reads == len(self.stream):
                raise read_past_end_error(program, pc, len(self.stream))
            regs[ins.rd] = self.stream[self.reads]
            self.reads += 1
        elif op is Op.WRITE:
            if len(program.output_registers) + len(self.written) == MAX_PUBLIC_OUTPUTS:
                raise too_many_outputs_error(program, pc)
            self.written.append(a)
        return pc + 1

    def outputs(self) -> tuple[int, ...]:
        """The run's public outputs: the .output registers now, then the written values."""
        return tuple(self.regs[r] for r in self.program.output_registers) + tuple(self.written)


@attrs.frozen
class Step:
    """One cycle of a run, with every value the machine AIR's row for it records
    (protocol.md 13): what was read, written and accessed, before and after.

    ``a`` and ``b`` are the values of the registers the instruction reads as ``ra`` and
    ``rb`` (0 for a field it does not use). For a load or store, ``address`` is the
    memory address and ``memory_before`` / ``memory_after`` its value around the access
    (equal for a load); otherwise ``address`` is None and both are 0. For an instruction
    that writes ``rd``, ``rd_before`` / ``rd_after`` are its value around the write (0
    otherwise). ``reads_before`` / ``writes_before`` count the stream inputs read and
    values written before this cycle; ``next_pc`` is where execution goes (the halt's own
    pc for the halt, which is the last step).
    """

    cycle: int
    pc: int
    instruction: Instruction
    a: int
    b: int
    address: int | None
    memory_before: int
    memory_after: int
    rd_before: int
    rd_after: int
    reads_before: int
    writes_before: int
    next_pc: int


def _uses(ins: Instruction, field: str) -> bool:
    return field in ins.op.operands


def steps(
    program: Program, inputs: Sequence[int], max_cycles: int = DEFAULT_MAX_CYCLES
) -> Iterator[Step]:
    """The run of ``program`` on ``inputs``, one :class:`Step` per cycle up to and
    including the first ``halt`` (a checked halt: the stream inputs are all read).

    Errors are raised when the failing cycle is reached, so the steps before it have
    been yielded; see :func:`run`.
    """
    machine = _Machine(program, inputs)
    pc = 0
    for cycle in range(max_cycles):
        ins = program.instructions[pc]
        regs = machine.regs
        a = regs[ins.ra] if _uses(ins, "ra") else 0
        b = regs[ins.rb] if _uses(ins, "rb") else 0
        address = machine.address(pc, ins) if ins.op.is_memory else None
        memory_before = machine.memory.get(address, 0) if address is not None else 0
        rd_before = regs[ins.rd] if ins.op.writes else 0
        reads, writes = machine.reads, len(machine.written)
        next_pc = machine.execute(pc)
        yield Step(
            cycle=cycle,
            pc=pc,
            instruction=ins,
            a=a,
            b=b,
            address=address,
            memory_before=memory_before,
            memory_after=machine.memory.get(address, 0) if address is not None else 0,
            rd_before=rd_before,
            rd_after=regs[ins.rd] if ins.op.writes else 0,
            reads_before=reads,
            writes_before=writes,
            next_pc=next_pc,
        )
        if ins.op is Op.HALT:
            return
        pc = next_pc
    raise cycle_limit_error(max_cycles)


def _states(
    program: Program, inputs: Sequence[int], max_cycles: int
) -> tuple[list[tuple[int, tuple[int, ...]]], _Machine]:
    """(pc, registers at the start of the cycle) for every cycle up to and including
    halt, and the machine after the run (for its outputs)."""
    machine = _Machine(program, inputs)
    regs = machine.regs
    pc = 0
    states = []
    for _ in range(max_cycles):
        states.append((pc, tuple(regs)))
        if program.instructions[pc].op is Op.HALT:
            machine.execute(pc)  # checks that every stream input was read
            return states, machine
        pc = machine.execute(pc)
    raise cycle_limit_error(max_cycles)


def run(
    program: Program, inputs: Sequence[int], max_cycles: int = DEFAULT_MAX_CYCLES
) -> tuple[tuple[int, ...], int]:
    """Run ``program``; return (outputs, cycles), cycles counting the halt.

    ``inputs`` are the ``.input`` registers' values, then the stream inputs ``read``
    consumes; the outputs are the ``.output`` registers at halt, then the values
    ``write`` appended.

    :raises InputError: for inputs of the wrong count or range.
    :raises ExecutionError: on inv of 0, a failed assertion, an address outside
        [0, 2^32), a read past the end of the stream, a halt with stream inputs unread,
        more than 2^16 outputs, or no halt within max_cycles.
    """
    machine = _Machine(program, inputs)
    pc = 0
    instructions = program.instructions
    for cycle in range(1, max_cycles + 1):
        if instructions[pc].op is Op.HALT:
            machine.execute(pc)  # checks that every stream input was read
            return machine.outputs(), cycle
        pc = machine.execute(pc)
    raise cycle_limit_error(max_cycles)


def trace(
    program: Program, inputs: Sequence[int], max_cycles: int = DEFAULT_MAX_CYCLES
) -> list[list[int]]:
    """The register AIR's execution trace (protocol.md 4) as ``trace_width`` columns of
    T values each.

    Columns: registers at the start of each cycle, one selector per instruction, one
    inverse helper per jz/jnz (``1/a`` or 0 for the tested register ``a``, on every row).
    Rows after the halt row repeat it.

    :raises ValueError: if the program does not fit the register AIR (it has v2
        instructions or exceeds the v1 limits); its trace is the machine AIR's.
    """
    if not program.fits_register_air:
        raise ValueError(
            "the register AIR's trace exists only for programs that fit it (instruction "
            "set v1 within the v1 limits); this program is proved by the machine AIR"
        )
    states, _ = _states(program, inputs, max_cycles)
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
