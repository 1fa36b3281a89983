"""Hand-built program bytes of format 2 (docs/protocol.md 12), for the native machine's
tests until the assembler writes format 2 itself: the encoding spelled out field by
field, independent of zkactors.zkvm.program."""

from __future__ import annotations

import struct
from collections.abc import Sequence

P = 2**64 - 2**32 + 1
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


def sum_stream(n_regs: int = 65) -> bytes:
    """Reads n (register input), then n stream values; stores them at 100 + i, loads them
    back, writes each doubled, and outputs their sum. 65 registers force format 2."""
    regs = ["n", "i", "acc", "x", "y"] + [f"pad{k}" for k in range(n_regs - 5)]
    code = [
        ins(SET, rd=1, imm=0),  # 0: i = 0
        ins(READ, rd=3),  # 1: x = read
        ins(STORE, ra=1, rb=3, imm=100),  # 2: M[i + 100] = x
        ins(ADDI, rd=1, ra=1, imm=1),  # 3: i += 1
        ins(SUB, rd=4, ra=1, rb=0),  # 4: y = i - n
        ins(JNZ, ra=4, target=1),  # 5: loop while i != n
        ins(SET, rd=1, imm=0),  # 6: i = 0
        ins(SET, rd=2, imm=0),  # 7: acc = 0
        ins(LOAD, rd=3, ra=1, imm=100),  # 8: x = M[i + 100]
        ins(ADD, rd=2, ra=2, rb=3),  # 9: acc += x
        ins(ADD, rd=3, ra=3, rb=3),  # 10: x = 2x
        ins(WRITE, ra=3),  # 11: write x
        ins(ADDI, rd=1, ra=1, imm=1),  # 12: i += 1
        ins(SUB, rd=4, ra=1, rb=0),  # 13: y = i - n
        ins(JNZ, ra=4, target=8),  # 14
        ins(LOAD_ABS, rd=4, imm=100),  # 15: y = M[100]
        ins(STORE_ABS, rb=4, imm=7),  # 16: M[7] = y
        ins(HALT),  # 17
    ]
    return format2(regs, 1, [2], code)
