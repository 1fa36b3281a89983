"""The zkVM instruction set v1: opcodes, operand shapes and limits (docs/protocol.md 4).

Everything that decides what an instruction *is* lives here, so the assembler, the
canonical byte codec, the interpreter and the disassembler read the same table instead of
each keeping its own idea of which operands an op takes.
"""

from __future__ import annotations

import enum

import attrs

#: The Goldilocks prime; every register value and immediate is an element of F_p.
P = 2**64 - 2**32 + 1

MAX_REGISTERS = 64
MAX_INPUTS = 16
MAX_OUTPUTS = 16
MAX_INSTRUCTIONS = 128
MAX_NAME = 32


class Op(enum.IntEnum):
    """Opcodes, with the numeric codes of the canonical encoding."""

    SET = 1
    MOV = 2
    ADD = 3
    SUB = 4
    MUL = 5
    ADDI = 6
    SUBI = 7
    MULI = 8
    INV = 9
    ASSERT_ZERO = 10
    ASSERT_EQ = 11
    JMP = 12
    JZ = 13
    JNZ = 14
    HALT = 15

    @property
    def mnemonic(self) -> str:
        return self.name.lower()

    @property
    def operands(self) -> tuple[str, ...]:
        """The instruction fields this op uses, in assembly order ("rd", "ra", "rb",
        "imm", "target"); every other field must be 0 in a valid program."""
        return OPERANDS[self]

    @property
    def writes(self) -> bool:
        """True for ops that write their ``rd`` register."""
        return "rd" in OPERANDS[self]

    @property
    def is_branch(self) -> bool:
        """True for the conditional branches, which each get a helper trace column."""
        return self in (Op.JZ, Op.JNZ)


OPERANDS: dict[Op, tuple[str, ...]] = {
    Op.SET: ("rd", "imm"),
    Op.MOV: ("rd", "ra"),
    Op.ADD: ("rd", "ra", "rb"),
    Op.SUB: ("rd", "ra", "rb"),
    Op.MUL: ("rd", "ra", "rb"),
    Op.ADDI: ("rd", "ra", "imm"),
    Op.SUBI: ("rd", "ra", "imm"),
    Op.MULI: ("rd", "ra", "imm"),
    Op.INV: ("rd", "ra"),
    Op.ASSERT_ZERO: ("ra",),
    Op.ASSERT_EQ: ("ra", "rb"),
    Op.JMP: ("target",),
    Op.JZ: ("ra", "target"),
    Op.JNZ: ("ra", "target"),
    Op.HALT: (),
}

#: mnemonic -> Op, for the assembler.
MNEMONICS: dict[str, Op] = {op.mnemonic: op for op in Op}

REGISTER_FIELDS = ("rd", "ra", "rb")


@attrs.frozen
class Instruction:
    """One instruction in its canonical form: fields an op does not use are 0.

    ``rd``, ``ra``, ``rb`` are register indices, ``imm`` a field element in [0, p),
    ``target`` an instruction index. Whether they are in range is a property of the
    whole program, checked by :func:`zkactors.zkvm.program.validate`.
    """

    op: Op = attrs.field(converter=Op)
    rd: int = 0
    ra: int = 0
    rb: int = 0
    imm: int = 0
    target: int = 0

    def registers_read(self) -> tuple[int, ...]:
        return tuple(getattr(self, f) for f in ("ra", "rb") if f in OPERANDS[self.op])
