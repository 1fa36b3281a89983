"""The AIR of a zkVM program (protocol.md 4–5): the polynomial constraints that hold on
a trace exactly when it is a correct execution.

The trace has one column per register (its value at the start of each cycle), one
*selector* per instruction (1 in the rows where that instruction executes) and one
*helper* per conditional branch (the inverse of the tested register, or 0). A row and its
successor must satisfy the transition constraints; the first and last rows must satisfy
the boundary constraints. Why these suffice:

- Row 0 has ``sel_0 = 1`` and every other selector 0 (boundary). The selector transition
  makes ``sel_t'`` the sum of ``sel_k·guard`` over the instructions ``k`` that can go to
  ``t``; the guards of one instruction add up to 1, so by induction exactly one selector
  is 1 in every row: the rows follow the program's control flow.
- A branch's guard is ``1 − a·h`` ("a is zero") or ``a·h`` ("a is nonzero"). The branch
  constraint ``a·(1 − a·h) = 0`` forces ``h = 1/a`` whenever ``a ≠ 0``; when ``a = 0``
  the guard ``1 − a·h`` is 1 whatever ``h`` is. So the guards are the true 0/1 tests.
- The register transition makes every register keep its value except the one the
  executing instruction writes, which takes ``f_k``; ``inv`` is the exception, since
  ``1/a`` is not a polynomial: there the update is switched off (the ``1 − S_r`` factor)
  and its own constraint ``sel·(a·rd' − 1) = 0`` says ``rd' = 1/a``.
- Row T−1 must execute a ``halt`` and hold the public outputs.

Every constraint has degree ≤ 3 in the trace values (``sel·a·h``, ``sel·ra·rb``).

Constraints are listed in the **canonical order** of protocol.md 5, which fixes which
composition coefficient belongs to which constraint.
"""

from __future__ import annotations

from collections.abc import Sequence

from zkactors.zkvm.isa import Op
from zkactors.zkvm.program import Program
from zkactors.zkvm.reference.field import Ext

#: Guards of a control-flow edge k → t.
ALWAYS, IF_ZERO, IF_NONZERO = "always", "if_zero", "if_nonzero"

_WRITES_FROM_REGISTERS = {Op.MOV, Op.ADD, Op.SUB, Op.MUL, Op.ADDI, Op.SUBI, Op.MULI}


class Air:
    """The constraint system of one program.

    A *frame* is a pair of rows ``(cur, nxt)``; each row is a sequence of ``w`` values of K
    in column order (the verifier evaluates the constraints at the out-of-domain point z,
    where the trace polynomials take values in K).
    """

    def __init__(self, program: Program) -> None:
        self.program = program
        self.n_registers = len(program.registers)
        self.n_instructions = len(program.instructions)
        self.branches = program.branch_indices
        self.width = self.n_registers + self.n_instructions + len(self.branches)
        #: column of instruction k's selector / branch k's helper
        self.selector = [self.n_registers + k for k in range(self.n_instructions)]
        self.helper = {
            k: self.n_registers + self.n_instructions + j for j, k in enumerate(self.branches)
        }
        #: incoming control-flow edges of each instruction: (from, guard)
        self.predecessors: list[list[tuple[int, str]]] = [[] for _ in program.instructions]
        for k in range(len(program.instructions)):
            for target, guard in self._successors(k):
                self.predecessors[target].append((k, guard))
        self.checked = [
            k
            for k, ins in enumerate(program.instructions)
            if ins.op in (Op.INV, Op.ASSERT_ZERO, Op.ASSERT_EQ)
        ]
        self.n_transition = (
            self.n_registers + self.n_instructions + len(self.branches) + len(self.checked)
        )
        self.n_first = self.n_instructions + self.n_registers
        self.n_last = 1 + len(program.output_registers)
        self.n_constraints = self.n_transition + self.n_first + self.n_last

    def _successors(self, k: int) -> list[tuple[int, str]]:
        ins = self.program.instructions[k]
        if ins.op is Op.JMP:
            return [(ins.target, ALWAYS)]
        if ins.op is Op.HALT:
            return [(k, ALWAYS)]
        if ins.op is Op.JZ:
            return [(ins.target, IF_ZERO), (k + 1, IF_NONZERO)]
        if ins.op is Op.JNZ:
            return [(ins.target, IF_NONZERO), (k + 1, IF_ZERO)]
        return [(k + 1, ALWAYS)]

    def written_value(self, k: int, row: Sequence[Ext]) -> Ext:
        """``f_k``: the value a non-inv instruction k writes into its rd."""
        ins = self.program.instructions[k]
        a, b = row[ins.ra], row[ins.rb]
        match ins.op:
            case Op.SET:
                return Ext(ins.imm)
            case Op.MOV:
                return a
            case Op.ADD:
                return a + b
            case Op.SUB:
                return a - b
            case Op.MUL:
                return a * b
            case Op.ADDI:
                return a + ins.imm
            case Op.SUBI:
                return a - ins.imm
            case Op.MULI:
                return a * ins.imm
        raise AssertionError(f"{ins.op.mnemonic} writes no f_k")

    def transition(self, cur: Sequence[Ext], nxt: Sequence[Ext]) -> list[Ext]:
        """Constraints 1–4 of protocol.md 5: zero on rows 0..T−2 of a valid trace."""
        instructions = self.program.instructions
        out: list[Ext] = []
        # 1. register updates
        for r in range(self.n_registers):
            inv_selected = Ext(0)
            update = Ext(0)
            for k, ins in enumerate(instructions):
                if ins.op is Op.INV and ins.rd == r:
                    inv_selected = inv_selected + cur[self.selector[k]]
                elif (ins.op is Op.SET or ins.op in _WRITES_FROM_REGISTERS) and ins.rd == r:
                    update = update + cur[self.selector[k]] * (self.written_value(k, cur) - cur[r])
            out.append((1 - inv_selected) * (nxt[r] - cur[r]) - update)
        # 2. control flow: the next selector is the guarded sum of its predecessors'
        for t in range(self.n_instructions):
            incoming = Ext(0)
            for k, guard in self.predecessors[t]:
                incoming = incoming + cur[self.selector[k]] * self._guard(k, guard, cur)
            out.append(nxt[self.selector[t]] - incoming)
        # 3. the branch helpers are inverses of their registers (where those are nonzero)
        for k in self.branches:
            a, h = cur[instructions[k].ra], cur[self.helper[k]]
            out.append(a * (1 - a * h))
        # 4. inv, assert_zero, assert_eq, each under its selector
        for k in self.checked:
            ins, sel = instructions[k], cur[self.selector[k]]
            if ins.op is Op.INV:
                out.append(sel * (cur[ins.ra] * nxt[ins.rd] - 1))
            elif ins.op is Op.ASSERT_ZERO:
                out.append(sel * cur[ins.ra])
            else:
                out.append(sel * (cur[ins.ra] - cur[ins.rb]))
        return out

    def _guard(self, k: int, guard: str, cur: Sequence[Ext]) -> Ext | int:
        if guard == ALWAYS:
            return 1
        a_h = cur[self.program.instructions[k].ra] * cur[self.helper[k]]
        return 1 - a_h if guard == IF_ZERO else a_h

    def first_row(self, cur: Sequence[Ext], inputs: Sequence[int]) -> list[Ext]:
        """Constraints 5–6: zero at row 0 (instruction 0 runs, registers hold the inputs
        and zeros)."""
        out = [cur[self.selector[k]] - (1 if k == 0 else 0) for k in range(self.n_instructions)]
        for r in range(self.n_registers):
            out.append(cur[r] - (inputs[r] if r < self.program.n_inputs else 0))
        return out

    def last_row(self, cur: Sequence[Ext], outputs: Sequence[int]) -> list[Ext]:
        """Constraints 7–8: zero at row T−1 (a halt runs, the outputs are the claimed ones)."""
        halted = Ext(0)
        for k, ins in enumerate(self.program.instructions):
            if ins.op is Op.HALT:
                halted = halted + cur[self.selector[k]]
        out = [halted - 1]
        for j, r in enumerate(self.program.output_registers):
            out.append(cur[r] - outputs[j])
        return out
