"""``Program``: a validated zkVM program with its canonical bytes and hash (protocol.md 4).

A ``Program`` can only exist if it satisfies every rule of the protocol: the constructor
runs :func:`validate`, the single rule book that the assembler (which turns a violation
into an ``AssemblyError`` pointing at the source line) and :meth:`Program.from_bytes`
(which turns it into a ``ProgramFormatError``) share. So code holding a ``Program`` never
re-checks it, and the native decoder (``ext/vm.c``) enforces the same rules on bytes.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import struct
from collections.abc import Iterable

import attrs

from zkactors.errors import InputError, ProgramFormatError
from zkactors.zkvm.isa import (
    MAX_INPUTS,
    MAX_INSTRUCTIONS,
    MAX_NAME,
    MAX_OUTPUTS,
    MAX_REGISTERS,
    OPERANDS,
    REGISTER_FIELDS,
    Instruction,
    Op,
    P,
)

MAGIC = b"ZKVM"
VERSION = 1
REGISTER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_HEADER = struct.Struct("<4sBBBBH")
_INSTRUCTION = struct.Struct("<BBBBHHQ")


@attrs.frozen
class Violation:
    """The first rule a would-be program breaks, and where.

    ``instruction`` / ``output`` / ``register`` index the offending item when there is
    one, so the assembler can point at its source line.
    """

    message: str
    instruction: int | None = None
    output: int | None = None
    register: int | None = None


def validate(
    registers: tuple[str, ...],
    n_inputs: int,
    output_registers: tuple[int, ...],
    instructions: tuple[Instruction, ...],
) -> Violation | None:
    """Check every rule of protocol.md 4; return the first violation, or None if valid."""
    n_registers = len(registers)
    if n_registers > MAX_REGISTERS:
        return Violation(f"too many registers: {n_registers}, the limit is {MAX_REGISTERS}")
    if not 0 <= n_inputs <= MAX_INPUTS:
        return Violation(f"too many inputs: {n_inputs}, the limit is {MAX_INPUTS}")
    if n_inputs > n_registers:
        return Violation(f"{n_inputs} inputs but only {n_registers} registers")
    if len(output_registers) > MAX_OUTPUTS:
        return Violation(f"too many outputs: {len(output_registers)}, the limit is {MAX_OUTPUTS}")
    n_instructions = len(instructions)
    if n_instructions > MAX_INSTRUCTIONS:
        return Violation(
            f"too many instructions: {n_instructions}, the limit is {MAX_INSTRUCTIONS}"
        )
    seen: set[str] = set()
    for index, name in enumerate(registers):
        if not isinstance(name, str) or not name.isascii() or not REGISTER_NAME.match(name):
            return Violation(
                f"bad register name {name!r}: expected a letter or '_' followed by "
                "letters, digits or '_'",
                register=index,
            )
        if len(name) > MAX_NAME:
            return Violation(
                f"register name {name!r} has {len(name)} characters, the limit is {MAX_NAME}",
                register=index,
            )
        if name in seen:
            return Violation(f"register {name!r} is declared twice", register=index)
        seen.add(name)
    for j, reg in enumerate(output_registers):
        if not _is_index(reg, n_registers):
            return Violation(f"output {j} names register {reg}, which does not exist", output=j)
    written: set[int] = set(range(n_inputs))
    for k, ins in enumerate(instructions):
        used = OPERANDS[ins.op]
        for name in REGISTER_FIELDS:
            value = getattr(ins, name)
            if name in used:
                if not _is_index(value, n_registers):
                    return Violation(
                        f"{ins.op.mnemonic}: register index {name}={value} does not exist "
                        f"(the program has {n_registers} registers)",
                        instruction=k,
                    )
            elif value != 0:
                return Violation(
                    f"{ins.op.mnemonic} does not use {name}, which must be 0 (got {value})",
                    instruction=k,
                )
        if "imm" in used:
            if not (isinstance(ins.imm, int) and 0 <= ins.imm < P):
                return Violation(
                    f"{ins.op.mnemonic}: immediate {ins.imm} is not in [0, p)", instruction=k
                )
        elif ins.imm != 0:
            return Violation(
                f"{ins.op.mnemonic} does not use an immediate, which must be 0 (got {ins.imm})",
                instruction=k,
            )
        if "target" in used:
            if not _is_index(ins.target, n_instructions):
                return Violation(
                    f"{ins.op.mnemonic}: target {ins.target} is not an instruction index "
                    f"(the program has {n_instructions} instructions)",
                    instruction=k,
                )
        elif ins.target != 0:
            return Violation(
                f"{ins.op.mnemonic} does not use a target, which must be 0 (got {ins.target})",
                instruction=k,
            )
        if ins.op.writes:
            written.add(ins.rd)
    if not any(ins.op is Op.HALT for ins in instructions):
        return Violation("the program has no halt instruction; add one where it should stop")
    if instructions[-1].op not in (Op.HALT, Op.JMP):
        return Violation(
            "execution can fall off the end: the last instruction must be halt or jmp",
            instruction=n_instructions - 1,
        )
    for j, reg in enumerate(output_registers):
        if reg not in written:
            return Violation(
                f"output register {registers[reg]!r} is never written and is not an input",
                output=j,
            )
    return None


def _is_index(value: object, bound: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < bound


def _str_tuple(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


def _int_tuple(items: Iterable[int]) -> tuple[int, ...]:
    return tuple(items)


def _instruction_tuple(items: Iterable[Instruction]) -> tuple[Instruction, ...]:
    return tuple(items)


@attrs.frozen
class Program:
    """A zkVM program: registers (index = trace column), inputs, outputs and code.

    ``registers[0:n_inputs]`` are the inputs, in ``.input`` order. ``source_lines`` holds
    the assembly text of each instruction for error messages; it is not part of the
    program's identity (equality, hash, bytes).

    :raises ProgramFormatError: if the parts break a rule of protocol.md 4.
    """

    registers: tuple[str, ...] = attrs.field(converter=_str_tuple)
    n_inputs: int
    output_registers: tuple[int, ...] = attrs.field(converter=_int_tuple)
    instructions: tuple[Instruction, ...] = attrs.field(converter=_instruction_tuple)
    source_lines: tuple[str, ...] = attrs.field(
        default=(), converter=_str_tuple, eq=False, repr=False
    )
    _canonical: bytes = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problem = validate(self.registers, self.n_inputs, self.output_registers, self.instructions)
        if problem is not None:
            raise ProgramFormatError(f"invalid program: {problem.message}")
        if self.source_lines and len(self.source_lines) != len(self.instructions):
            raise ProgramFormatError(
                f"{len(self.source_lines)} source lines for {len(self.instructions)} instructions"
            )
        object.__setattr__(self, "_canonical", self._encode())

    # ---- names and shape ----

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.registers[: self.n_inputs]

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self.registers[r] for r in self.output_registers)

    @property
    def trace_width(self) -> int:
        """R + I + J: register columns, selector columns, branch helper columns."""
        return len(self.registers) + len(self.instructions) + len(self.branch_indices)

    @property
    def branch_indices(self) -> tuple[int, ...]:
        """Indices of the jz/jnz instructions, in program order (one helper column each)."""
        return tuple(k for k, ins in enumerate(self.instructions) if ins.op.is_branch)

    def check_inputs(self, inputs: Iterable[object]) -> tuple[int, ...]:
        """The inputs as a tuple of field elements, checked against this program.

        :raises InputError: if the count is wrong or an input is not an int in [0, p)
            (``bool`` is rejected: ``True`` is not a field element here).
        """
        # One more than expected is enough to tell "too many": never materialise a long
        # (or endless) iterable just to reject it.
        values = tuple(itertools.islice(inputs, self.n_inputs + 1))
        if len(values) != self.n_inputs:
            names = ", ".join(self.inputs) or "none"
            raise InputError(
                f"expected {self.n_inputs} input{'s' if self.n_inputs != 1 else ''} "
                f"({names}), got {len(values)}{' or more' if len(values) > self.n_inputs else ''}"
            )
        for name, value in zip(self.inputs, values, strict=True):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < P:
                raise InputError(f"input {name!r} must be an int in [0, p), got {value!r}")
        return values  # type: ignore[return-value]  # checked above: all ints

    def source_line(self, pc: int) -> str:
        """The assembly text of instruction ``pc`` (disassembled if the source is unknown)."""
        if self.source_lines:
            return self.source_lines[pc]
        return self._format_instruction(self.instructions[pc], {})

    # ---- canonical bytes and hash ----

    def to_bytes(self) -> bytes:
        """The canonical encoding of protocol.md 4."""
        return self._canonical

    def _encode(self) -> bytes:
        parts = [
            _HEADER.pack(
                MAGIC,
                VERSION,
                len(self.registers),
                self.n_inputs,
                len(self.output_registers),
                len(self.instructions),
            )
        ]
        for name in self.registers:
            parts.append(bytes([len(name)]) + name.encode("ascii"))
        parts.append(bytes(self.output_registers))
        for ins in self.instructions:
            parts.append(_INSTRUCTION.pack(ins.op, ins.rd, ins.ra, ins.rb, ins.target, 0, ins.imm))
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> Program:
        """Decode canonical bytes, strictly.

        :raises ProgramFormatError: on anything that is not exactly the canonical encoding
            of a valid program (wrong magic or version, bad counts or names, unknown ops,
            nonzero unused fields, ``imm >= p``, targets out of range, trailing bytes).
        """
        data = bytes(data)
        if len(data) < _HEADER.size:
            raise ProgramFormatError(
                f"program bytes too short: {len(data)} bytes, the header alone is {_HEADER.size}"
            )
        magic, version, n_registers, n_inputs, n_outputs, n_instructions = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise ProgramFormatError(f"not a zkVM program: magic {magic!r}, expected {MAGIC!r}")
        if version != VERSION:
            raise ProgramFormatError(f"unsupported program version {version}, expected {VERSION}")
        limits = (
            ("registers", n_registers, MAX_REGISTERS),
            ("inputs", n_inputs, MAX_INPUTS),
            ("outputs", n_outputs, MAX_OUTPUTS),
            ("instructions", n_instructions, MAX_INSTRUCTIONS),
        )
        for what, count, limit in limits:
            if count > limit:
                raise ProgramFormatError(f"too many {what}: {count}, the limit is {limit}")
        if n_instructions == 0:
            raise ProgramFormatError("a program needs at least one instruction (a halt)")
        offset = _HEADER.size
        registers = []
        for index in range(n_registers):
            if offset >= len(data):
                raise ProgramFormatError(f"program bytes end inside register {index}'s name")
            length = data[offset]
            raw = data[offset + 1 : offset + 1 + length]
            if len(raw) != length:
                raise ProgramFormatError(f"program bytes end inside register {index}'s name")
            if not raw.isascii():
                raise ProgramFormatError(f"register {index}'s name is not ASCII")
            registers.append(raw.decode("ascii"))
            offset += 1 + length
        outputs = data[offset : offset + n_outputs]
        if len(outputs) != n_outputs:
            raise ProgramFormatError("program bytes end inside the output list")
        offset += n_outputs
        expected_end = offset + n_instructions * _INSTRUCTION.size
        if len(data) != expected_end:
            raise ProgramFormatError(
                f"program bytes have length {len(data)}, expected {expected_end} for "
                f"{n_instructions} instructions"
                + (" (trailing bytes)" if len(data) > expected_end else "")
            )
        instructions = []
        for k in range(n_instructions):
            op, rd, ra, rb, target, reserved, imm = _INSTRUCTION.unpack_from(
                data, offset + k * _INSTRUCTION.size
            )
            if op not in Op._value2member_map_:
                raise ProgramFormatError(f"instruction {k}: unknown op code {op}")
            if reserved != 0:
                raise ProgramFormatError(f"instruction {k}: reserved field must be 0")
            instructions.append(Instruction(Op(op), rd, ra, rb, imm, target))
        problem = validate(tuple(registers), n_inputs, tuple(outputs), tuple(instructions))
        if problem is not None:
            where = (
                f"instruction {problem.instruction}: " if problem.instruction is not None else ""
            )
            raise ProgramFormatError(f"invalid program: {where}{problem.message}")
        return cls(tuple(registers), n_inputs, tuple(outputs), tuple(instructions))

    @property
    def digest(self) -> bytes:
        """SHA-256 of the canonical bytes (32 raw bytes): the program's name in receipts."""
        return hashlib.sha256(self._canonical).digest()

    @property
    def hash(self) -> str:
        """Lowercase hex of :attr:`digest`."""
        return self.digest.hex()

    # ---- disassembly ----

    def __str__(self) -> str:
        """Assembly text that ``assemble()`` turns back into an equal program."""
        targets = sorted({ins.target for ins in self.instructions if "target" in ins.op.operands})
        labels = {t: f"L{t}" for t in targets}
        lines = []
        if self.n_inputs:
            lines.append(".input " + ", ".join(self.inputs))
        if self.output_registers:
            lines.append(".output " + ", ".join(self.outputs))
        if self.registers[self.n_inputs :] != self._first_appearance_order():
            # Registers no instruction names, or an order assemble() would not choose.
            lines.append(".registers " + ", ".join(self.registers[self.n_inputs :]))
        width = max((len(label) for label in labels.values()), default=0) + 2
        for k, ins in enumerate(self.instructions):
            label = f"{labels[k]}:" if k in labels else ""
            lines.append(f"{label:<{width}}{self._format_instruction(ins, labels)}".rstrip())
        return "\n".join(lines) + "\n"

    def _format_instruction(self, ins: Instruction, labels: dict[int, str]) -> str:
        operands = []
        for field in ins.op.operands:
            value = getattr(ins, field)
            if field == "imm":
                operands.append(str(value))
            elif field == "target":
                operands.append(labels.get(value, f"L{value}"))
            else:
                operands.append(self.registers[value])
        text = ins.op.mnemonic
        return f"{text} {', '.join(operands)}" if operands else text

    def _first_appearance_order(self) -> tuple[str, ...]:
        order: dict[int, None] = {}
        for ins in self.instructions:
            for field in ins.op.operands:
                if field in REGISTER_FIELDS:
                    index = getattr(ins, field)
                    if index >= self.n_inputs:
                        order.setdefault(index, None)
        return tuple(self.registers[i] for i in order)
