"""The zkVM instruction sets: opcodes, operand shapes and limits (docs/protocol.md 4, 12).

Instruction set v1 (ops 1-15) is what the register AIR (AIR 1) proves; instruction set
v2 adds memory (``load``/``store``, ops 16-19) and the public streams (``read``/``write``,
ops 20-21), which only the machine AIR (AIR 2) proves. A program that uses only v1 ops
and stays within the v1 limits is encoded in program format 1, any other in format 2.

Everything that decides what an instruction *is* lives here, so the assembler, the
canonical byte codec, the interpreter and the disassembler read the same table instead of
each keeping its own idea of which operands an op takes.
"""

from __future__ import annotations

import enum

import attrs

#: The Goldilocks prime; every register value and immediate is an element of F_p.
P = 2**64 - 2**32 + 1

# Limits of instruction set v1 / program format 1 (protocol.md 4): a program within them
# (and using only v1 ops) fits the register AIR.
MAX_REGISTERS = 64
MAX_INPUTS = 16  # .input registers
MAX_OUTPUTS = 16  # .output entries
MAX_INSTRUCTIONS = 128
MAX_NAME = 32

# Limits of program format 2 (protocol.md 12); every program must stay within these.
V2_MAX_REGISTERS = 256
V2_MAX_INPUTS = 256  # .input registers
V2_MAX_OUTPUTS = 256  # .output entries
V2_MAX_INSTRUCTIONS = 65_536
#: Public inputs (.input registers + stream inputs) and, separately, public outputs
#: (.output entries + written values) of one run, at most.
MAX_PUBLIC_INPUTS = 2**16
MAX_PUBLIC_OUTPUTS = 2**16
#: Memory addresses are integers in [0, ADDRESS_LIMIT).
ADDRESS_LIMIT = 2**32


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
    # Instruction set v2 (protocol.md 12). LOAD/LOAD_ABS and STORE/STORE_ABS are two
    # encodings each of one assembly instruction: the address form picks the op.
    LOAD = 16
    LOAD_ABS = 17
    STORE = 18
    STORE_ABS = 19
    READ = 20
    WRITE = 21

    @property
    def mnemonic(self) -> str:
        """The assembly name: ``load`` for both LOAD and LOAD_ABS, ``store`` likewise."""
        return _MNEMONIC_OF.get(self, self.name.lower())

    @property
    def operands(self) -> tuple[str, ...]:
        """The instruction fields this op uses ("rd", "ra", "rb", "imm", "target"), in
        assembly order for v1 ops; every other field must be 0 in a valid program. For
        memory ops the assembly form is :attr:`form` (the address is one operand)."""
        return OPERANDS[self]

    @property
    def form(self) -> str:
        """The assembly form, e.g. ``"add rd, ra, rb"`` or ``"store [ra + imm], rb"``."""
        return FORMS[self]

    @property
    def is_v1(self) -> bool:
        """True for the ops of instruction set v1 (the ones AIR 1 and format 1 know)."""
        return self <= Op.HALT

    @property
    def is_memory(self) -> bool:
        """True for load/store in either address form."""
        return Op.LOAD <= self <= Op.STORE_ABS

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
    Op.LOAD: ("rd", "ra", "imm"),
    Op.LOAD_ABS: ("rd", "imm"),
    Op.STORE: ("ra", "rb", "imm"),
    Op.STORE_ABS: ("rb", "imm"),
    Op.READ: ("rd",),
    Op.WRITE: ("ra",),
}

_MNEMONIC_OF = {Op.LOAD_ABS: "load", Op.STORE_ABS: "store"}

_FIELD_FORMS = {"rd": "rd", "ra": "ra", "rb": "rb", "imm": "imm", "target": "label"}
#: The assembly form of each op, as the guide and the assembler's messages write it.
_MEMORY_FORMS = {
    Op.LOAD: "load rd, [ra + imm]",
    Op.LOAD_ABS: "load rd, [imm]",
    Op.STORE: "store [ra + imm], rb",
    Op.STORE_ABS: "store [imm], rb",
}
FORMS: dict[Op, str] = {
    op: _MEMORY_FORMS.get(op)
    or f"{op.mnemonic} {', '.join(_FIELD_FORMS[f] for f in fields)}".rstrip()
    for op, fields in OPERANDS.items()
}

#: mnemonic -> Op, for the assembler; ``load``/``store`` map to the register-based op
#: (LOAD, STORE), and the assembler picks the ``_ABS`` op for an ``[imm]`` address.
MNEMONICS: dict[str, Op] = {}
for _op in Op:
    MNEMONICS.setdefault(_op.mnemonic, _op)
del _op

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
