"""``Program``: a validated zkVM program with its canonical bytes and hash (protocol.md 4, 12).

A ``Program`` can only exist if it satisfies every rule of the protocol: the constructor
runs :func:`validate`, the single rule book that the assembler (which turns a violation
into an ``AssemblyError`` pointing at the source line) and :meth:`Program.from_bytes`
(which turns it into a ``ProgramFormatError``) share. So code holding a ``Program`` never
re-checks it, and the native decoders (``ext/vm.c``, ``ext/machine.h``) enforce the same
rules on bytes.

Two encodings exist. A program that uses only instruction set v1 and stays within the v1
limits ("fits the register AIR") is encoded in format 1, exactly as before format 2
existed, so its hash never changes; every other program is encoded in format 2. Each
program has exactly one encoding: a format-2 encoding of a program that format 1 can
encode is refused as non-canonical.
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
    ADDRESS_LIMIT,
    MAX_INPUTS,
    MAX_INSTRUCTIONS,
    MAX_NAME,
    MAX_OUTPUTS,
    MAX_PUBLIC_INPUTS,
    MAX_REGISTERS,
    OPERANDS,
    REGISTER_FIELDS,
    V2_MAX_INPUTS,
    V2_MAX_INSTRUCTIONS,
    V2_MAX_OUTPUTS,
    V2_MAX_REGISTERS,
    Instruction,
    Op,
    P,
)

MAGIC = b"ZKVM"
VERSION = 1  # program format 1 (protocol.md 4)
VERSION_2 = 2  # program format 2 (protocol.md 12)
REGISTER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_HEADER = struct.Struct("<4sBBBBH")
_INSTRUCTION = struct.Struct("<BBBBHHQ")
# Format 2: counts widen to LE16/LE32 and the target to LE32 (no reserved field), so an
# instruction is still 16 bytes.
_HEADER_2 = struct.Struct("<4sBHHHI")
_INSTRUCTION_2 = struct.Struct("<BBBBIQ")


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
    """Check every rule of protocol.md 4 and 12; return the first violation, or None.

    The limits are those of program format 2 (the larger ones): a program beyond the v1
    limits is valid, it just does not fit the register AIR (:func:`fits_register_air`).
    """
    n_registers = len(registers)
    if n_registers > V2_MAX_REGISTERS:
        return Violation(f"too many registers: {n_registers}, the limit is {V2_MAX_REGISTERS}")
    if not 0 <= n_inputs <= V2_MAX_INPUTS:
        return Violation(f"too many inputs: {n_inputs}, the limit is {V2_MAX_INPUTS}")
    if n_inputs > n_registers:
        return Violation(f"{n_inputs} inputs but only {n_registers} registers")
    if len(output_registers) > V2_MAX_OUTPUTS:
        return Violation(
            f"too many outputs: {len(output_registers)}, the limit is {V2_MAX_OUTPUTS}"
        )
    n_instructions = len(instructions)
    if n_instructions > V2_MAX_INSTRUCTIONS:
        return Violation(
            f"too many instructions: {n_instructions}, the limit is {V2_MAX_INSTRUCTIONS}"
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


def fits_register_air(
    n_registers: int, n_inputs: int, n_outputs: int, instructions: tuple[Instruction, ...]
) -> bool:
    """True if a (valid) program of this shape uses only instruction set v1 within the v1
    limits: then format 1 encodes it and AIR 1 can prove it."""
    return (
        n_registers <= MAX_REGISTERS
        and n_inputs <= MAX_INPUTS
        and n_outputs <= MAX_OUTPUTS
        and len(instructions) <= MAX_INSTRUCTIONS
        and all(ins.op.is_v1 for ins in instructions)
    )


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

    :raises ProgramFormatError: if the parts break a rule of protocol.md 4 or 12.
    """

    registers: tuple[str, ...] = attrs.field(converter=_str_tuple)
    n_inputs: int
    output_registers: tuple[int, ...] = attrs.field(converter=_int_tuple)
    instructions: tuple[Instruction, ...] = attrs.field(converter=_instruction_tuple)
    source_lines: tuple[str, ...] = attrs.field(
        default=(), converter=_str_tuple, eq=False, repr=False
    )
    _canonical: bytes = attrs.field(init=False, eq=False, repr=False)
    # Computed once (a program may have 65,536 instructions; these are asked per request).
    _fits: bool = attrs.field(init=False, eq=False, repr=False)
    _reads: bool = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problem = validate(self.registers, self.n_inputs, self.output_registers, self.instructions)
        if problem is not None:
            raise ProgramFormatError(f"invalid program: {problem.message}")
        if self.source_lines and len(self.source_lines) != len(self.instructions):
            raise ProgramFormatError(
                f"{len(self.source_lines)} source lines for {len(self.instructions)} instructions"
            )
        fits = fits_register_air(
            len(self.registers), self.n_inputs, len(self.output_registers), self.instructions
        )
        object.__setattr__(self, "_fits", fits)
        object.__setattr__(self, "_reads", any(ins.op is Op.READ for ins in self.instructions))
        object.__setattr__(self, "_canonical", self._encode())

    # ---- names and shape ----

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.registers[: self.n_inputs]

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self.registers[r] for r in self.output_registers)

    @property
    def fits_register_air(self) -> bool:
        """True if the program uses only instruction set v1 within the v1 limits: it is
        encoded in format 1 and the register AIR (AIR 1) can prove it. Every program
        fits the machine AIR (AIR 2)."""
        return self._fits

    @property
    def format(self) -> int:
        """The program format of the canonical bytes: 1 if :attr:`fits_register_air`,
        else 2 (protocol.md 12)."""
        return VERSION if self.fits_register_air else VERSION_2

    @property
    def reads_stream(self) -> bool:
        """True if the program has a ``read``: it then takes stream inputs after the
        ``.input`` registers' values (as many as its run reads)."""
        return self._reads

    @property
    def trace_width(self) -> int:
        """The register AIR's (AIR 1's) trace width R + I + J: register columns,
        selector columns, branch helper columns. Meaningful only for programs that
        :attr:`fits_register_air`; the machine AIR's width is fixed (protocol.md 13)."""
        return len(self.registers) + len(self.instructions) + len(self.branch_indices)

    @property
    def branch_indices(self) -> tuple[int, ...]:
        """Indices of the jz/jnz instructions, in program order (one helper column each)."""
        return tuple(k for k, ins in enumerate(self.instructions) if ins.op.is_branch)

    def check_inputs(self, inputs: Iterable[object]) -> tuple[int, ...]:
        """The public inputs as a tuple of field elements, checked against this program.

        A program without ``read`` takes exactly one value per ``.input`` register. A
        program with ``read`` takes those values followed by its stream inputs: at least
        ``n_inputs`` values and at most 2^16 in all (whether the run reads exactly the
        stream given is a matter of execution, checked by the executor).

        :raises InputError: if the count is wrong or an input is not an int in [0, p)
            (``bool`` is rejected: ``True`` is not a field element here).
        """
        most = MAX_PUBLIC_INPUTS if self.reads_stream else self.n_inputs
        # One more than allowed is enough to tell "too many": never materialise a long
        # (or endless) iterable just to reject it.
        values = tuple(itertools.islice(inputs, most + 1))
        if self.reads_stream:
            if not self.n_inputs <= len(values) <= most:
                raise InputError(
                    f"expected at least {self.n_inputs} input{'s' if self.n_inputs != 1 else ''} "
                    f"({', '.join(self.inputs) or 'none'}, then the stream inputs 'read' "
                    f"takes) and at most {most} in all, got "
                    f"{len(values)}{' or more' if len(values) > most else ''}"
                )
        elif len(values) != self.n_inputs:
            names = ", ".join(self.inputs) or "none"
            raise InputError(
                f"expected {self.n_inputs} input{'s' if self.n_inputs != 1 else ''} "
                f"({names}), got {len(values)}{' or more' if len(values) > self.n_inputs else ''}"
            )
        for index, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < P:
                name = (
                    repr(self.inputs[index])
                    if index < self.n_inputs
                    else f"{index} (stream input {index - self.n_inputs})"
                )
                raise InputError(f"input {name} must be an int in [0, p), got {value!r}")
        return values  # type: ignore[return-value]  # checked above: all ints

    def source_line(self, pc: int) -> str:
        """The assembly text of instruction ``pc`` (disassembled if the source is unknown)."""
        if self.source_lines:
            return self.source_lines[pc]
        return self._format_instruction(self.instructions[pc], {})

    # ---- canonical bytes and hash ----

    def to_bytes(self) -> bytes:
        """The canonical encoding: format 1 (protocol.md 4) if the program fits the
        register AIR, else format 2 (protocol.md 12)."""
        return self._canonical

    def _encode(self) -> bytes:
        counts = (
            len(self.registers),
            self.n_inputs,
            len(self.output_registers),
            len(self.instructions),
        )
        v1 = self.fits_register_air
        parts = [
            _HEADER.pack(MAGIC, VERSION, *counts)
            if v1
            else _HEADER_2.pack(MAGIC, VERSION_2, *counts)
        ]
        for name in self.registers:
            parts.append(bytes([len(name)]) + name.encode("ascii"))
        parts.append(bytes(self.output_registers))
        for ins in self.instructions:
            if v1:
                parts.append(
                    _INSTRUCTION.pack(ins.op, ins.rd, ins.ra, ins.rb, ins.target, 0, ins.imm)
                )
            else:
                parts.append(
                    _INSTRUCTION_2.pack(ins.op, ins.rd, ins.ra, ins.rb, ins.target, ins.imm)
                )
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> Program:
        """Decode canonical bytes of format 1 or 2, strictly.

        :raises ProgramFormatError: on anything that is not exactly the canonical encoding
            of a valid program (wrong magic or version, bad counts or names, unknown ops
            (format 1 knows only v1 ops), nonzero unused fields, ``imm >= p``, targets out
            of range, trailing bytes, or a format-2 encoding of a program that format 1
            can encode).
        """
        data = bytes(data)
        if len(data) < 5:
            raise ProgramFormatError(
                f"program bytes too short: {len(data)} bytes, the header alone is {_HEADER.size}"
            )
        if data[:4] != MAGIC:
            raise ProgramFormatError(f"not a zkVM program: magic {data[:4]!r}, expected {MAGIC!r}")
        version = data[4]
        if version == VERSION:
            layout = _FORMAT_1
        elif version == VERSION_2:
            layout = _FORMAT_2
        else:
            raise ProgramFormatError(
                f"unsupported program version {version}, expected {VERSION} or {VERSION_2}"
            )
        registers, n_inputs, outputs, instructions = layout.decode(data)
        problem = validate(registers, n_inputs, outputs, instructions)
        if problem is not None:
            where = (
                f"instruction {problem.instruction}: " if problem.instruction is not None else ""
            )
            raise ProgramFormatError(f"invalid program: {where}{problem.message}")
        fits = fits_register_air(len(registers), n_inputs, len(outputs), instructions)
        if version == VERSION_2 and fits:
            raise ProgramFormatError(
                "non-canonical program bytes: a program that uses only instruction set v1 "
                "within the v1 limits is encoded in format 1, not format 2"
            )
        return cls(registers, n_inputs, outputs, instructions)

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
        if ins.op.is_memory:
            return self._format_memory(ins)
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

    def _format_memory(self, ins: Instruction) -> str:
        """``load rd, [address]`` / ``store [address], rb``, the address written as the
        assembler reads it: ``[imm]``, ``[ra]``, ``[ra + imm]``, or ``[ra - x]`` when the
        offset is a small negative number (``imm = p - x``)."""
        if ins.op in (Op.LOAD_ABS, Op.STORE_ABS):
            address = f"[{ins.imm}]"
        else:
            base = self.registers[ins.ra]
            if ins.imm == 0:
                address = f"[{base}]"
            elif P - ins.imm < ADDRESS_LIMIT:
                address = f"[{base} - {P - ins.imm}]"
            else:
                address = f"[{base} + {ins.imm}]"
        if ins.op in (Op.LOAD, Op.LOAD_ABS):
            return f"load {self.registers[ins.rd]}, {address}"
        return f"store {address}, {self.registers[ins.rb]}"

    def _first_appearance_order(self) -> tuple[str, ...]:
        order: dict[int, None] = {}
        for ins in self.instructions:
            for field in ins.op.operands:
                if field in REGISTER_FIELDS:
                    index = getattr(ins, field)
                    if index >= self.n_inputs:
                        order.setdefault(index, None)
        return tuple(self.registers[i] for i in order)


@attrs.frozen
class _Layout:
    """One program format's byte layout (protocol.md 4 or 12) and its decoder."""

    version: int
    header: struct.Struct
    instruction: struct.Struct
    max_registers: int
    max_inputs: int
    max_outputs: int
    max_instructions: int

    def decode(
        self, data: bytes
    ) -> tuple[tuple[str, ...], int, tuple[int, ...], tuple[Instruction, ...]]:
        """The parts of the program ``data`` encodes, checked for this layout's limits,
        ops and reserved fields (the program's own rules are :func:`validate`'s)."""
        if len(data) < self.header.size:
            raise ProgramFormatError(
                f"program bytes too short: {len(data)} bytes, the format-{self.version} "
                f"header alone is {self.header.size}"
            )
        _, _, n_registers, n_inputs, n_outputs, n_instructions = self.header.unpack_from(data)
        limits = (
            ("registers", n_registers, self.max_registers),
            ("inputs", n_inputs, self.max_inputs),
            ("outputs", n_outputs, self.max_outputs),
            ("instructions", n_instructions, self.max_instructions),
        )
        # Counts are checked before anything is allocated or looped over.
        for what, count, limit in limits:
            if count > limit:
                raise ProgramFormatError(f"too many {what}: {count}, the limit is {limit}")
        if n_instructions == 0:
            raise ProgramFormatError("a program needs at least one instruction (a halt)")
        offset = self.header.size
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
        expected_end = offset + n_instructions * self.instruction.size
        if len(data) != expected_end:
            raise ProgramFormatError(
                f"program bytes have length {len(data)}, expected {expected_end} for "
                f"{n_instructions} instructions"
                + (" (trailing bytes)" if len(data) > expected_end else "")
            )
        instructions = tuple(
            self._instruction(k, data, offset + k * self.instruction.size)
            for k in range(n_instructions)
        )
        return tuple(registers), n_inputs, tuple(outputs), instructions

    def _instruction(self, k: int, data: bytes, offset: int) -> Instruction:
        if self.version == VERSION:
            op, rd, ra, rb, target, reserved, imm = self.instruction.unpack_from(data, offset)
            if reserved != 0:
                raise ProgramFormatError(f"instruction {k}: reserved field must be 0")
        else:
            op, rd, ra, rb, target, imm = self.instruction.unpack_from(data, offset)
        if op not in Op._value2member_map_ or (self.version == VERSION and not Op(op).is_v1):
            raise ProgramFormatError(
                f"instruction {k}: unknown op code {op} in program format {self.version}"
            )
        return Instruction(Op(op), rd, ra, rb, imm, target)


_FORMAT_1 = _Layout(
    VERSION, _HEADER, _INSTRUCTION, MAX_REGISTERS, MAX_INPUTS, MAX_OUTPUTS, MAX_INSTRUCTIONS
)
_FORMAT_2 = _Layout(
    VERSION_2,
    _HEADER_2,
    _INSTRUCTION_2,
    V2_MAX_REGISTERS,
    V2_MAX_INPUTS,
    V2_MAX_OUTPUTS,
    V2_MAX_INSTRUCTIONS,
)
