"""Assembly sources the AIR tests share, written once: every v1 instruction kind, and a
format-2 program with memory and both streams."""

from __future__ import annotations

# Every instruction kind, both branches taken and not taken: with n = 3 the loop runs
# three times (jz falls through, jnz jumps back), then jnz falls through to the jmp,
# which returns to the jz, which now jumps to done. Format 1, so both AIRs prove it: the
# AIR 2 rows of every instruction class that format 1 can hold.
ALL_OPS_SOURCE = """
.input  x, n
.output a, b, c
        set  a, 5
        mov  b, x
loop:   jz   n, done
        add  c, a, b
        sub  d, c, x
        mul  e, d, b
        addi a, e, 3
        muli b, b, 2
        inv  f, a
        mul  g, f, a
        subi g, g, 1
        assert_zero g
        assert_eq f, f
        subi n, n, 1
        jnz  n, loop
        jmp  loop
done:   halt
"""
ALL_OPS_INPUTS = (3, 3)  # 44 cycles: T = 64, two FRI layers under "test"

# Format 2 (AIR 2 only): RAM at a computed and at a constant address, a read of a cell
# never written (0), and stream reads and writes interleaved.
MACHINE_SOURCE = """
.input a
.output s
        read  x
        store [a + 2], x
        store [7], a
        load  y, [a + 2]
        load  z, [7]
        add   s, y, z
        load  w, [100]
        write s
        write w
        read  v
        write v
        halt
"""
MACHINE_INPUTS = (3, 10, 20)  # a = 3, then the stream 10, 20
