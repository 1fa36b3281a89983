"""Hand-built program bytes of format 2 (docs/protocol.md 12), for the native machine's
tests until the assembler writes format 2 itself: the encoding spelled out field by
field, independent of zkactors.zkvm.program."""

from __future__ import annotations

import struct
from collections.abc import Sequence

LOAD, LOAD_ABS, STORE, STORE_ABS, READ, WRITE = 16, 17, 18, 19, 20, 21
SET, MOV, ADD, SUB, MUL, ADDI, SUBI, MULI, INV = 1, 2, 3, 4, 5, 6, 7, 8, 9
ASSERT_ZERO, ASSERT_EQ, JMP, JZ, JNZ, HALT = 10, 11, 12, 13, 14, 15


def ins(op: int, rd: int = 0, ra: int = 0, rb: int = 0, target: int = 0, imm: int = 0) -> tuple:
    return (op, rd, ra, rb, target, imm)


def format2(
    registers: Sequence[str],
    n_inputs: int,
    outputs: Sequence[int],
    code: Sequence[tuple],
) -> bytes:
    out = b"ZKVM" + struct.pack("<BHHHI", 2, len(registers), n_inputs, len(outputs), len(code))
    for name in registers:
        out += bytes([len(name)]) + name.encode()
    out += bytes(outputs)
    for op, rd, ra, rb, target, imm in code:
        out += struct.pack("<BBBBIQ", op, rd, ra, rb, target, imm)
    return out
