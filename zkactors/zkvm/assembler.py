"""The zkVM assembler: ``.zkasm`` text -> :class:`~zkactors.zkvm.program.Program`.

Syntax, one statement per line::

    ; fib(n): the n-th Fibonacci number mod p     (comments start with ';' or '#')
    .input  n                 ; input registers, in order (public inputs)
    .output a                 ; registers read at halt (public outputs)
            set  a, 0
            set  b, 1
    loop:   jz   n, done      ; 'name:' labels the next instruction
            add  t, a, b
            ...
            jmp  loop
    done:   halt

Instructions (docs/protocol.md 4 and 12): ``set rd, imm``, ``mov rd, ra``,
``add|sub|mul rd, ra, rb``, ``addi|subi|muli rd, ra, imm``, ``inv rd, ra``,
``assert_zero ra``, ``assert_eq ra, rb``, ``jmp label``, ``jz|jnz ra, label``, ``halt``,
and (instruction set v2) ``load rd, [address]``, ``store [address], rb``, ``read rd``,
``write ra``. An address is ``[ra]``, ``[ra + imm]``, ``[ra - imm]`` (the immediate
negated mod p) or ``[imm]``; ``[imm]`` assembles to LOAD_ABS / STORE_ABS.
Mnemonics and directives are case-insensitive; register names and labels are not.

Registers are named by identifiers (``[A-Za-z_][A-Za-z0-9_]*``, at most 32 characters)
and need no declaration. They are numbered, and so become trace columns, in this order:
the ``.input`` registers in declaration order, then any ``.registers a, b`` declared
order (used by the disassembler to pin an order), then the rest in order of first
appearance. Every register starts at 0 except the inputs.

Immediates are decimal (``42``, ``-1``) or hex (``0xff``); a negative immediate ``-x``
means ``p - x``, so the accepted range is ``[-(p-1), p-1]``.

Limits (the protocol's, so every program the assembler accepts can be proved): those
of program format 2, at most 256 registers, 256 inputs, 256 outputs and 65,536
instructions, and source text of at most 8 MiB. A program within the v1 limits (64
registers, 16 inputs, 16 outputs, 128 instructions) that uses only v1 instructions is
encoded in format 1 and fits the register AIR. There must be a
``halt``; the last instruction must be ``halt`` or ``jmp`` (execution cannot fall off the
end); every ``.output`` register must be an input or written by some instruction.

Every mistake raises :class:`~zkactors.errors.AssemblyError` with the 1-based line and
column of the offending token, the source line, and a message saying what is wrong and
what was expected.
"""

from __future__ import annotations

import difflib
import re

import attrs

from zkactors.errors import AssemblyError
from zkactors.zkvm.isa import (
    FORMS,
    MAX_NAME,
    MNEMONICS,
    REGISTER_FIELDS,
    V2_MAX_INPUTS,
    V2_MAX_INSTRUCTIONS,
    V2_MAX_OUTPUTS,
    V2_MAX_REGISTERS,
    Instruction,
    Op,
    P,
)
from zkactors.zkvm.program import REGISTER_NAME, Program, validate

__all__ = ["assemble"]

DIRECTIVES = (".input", ".output", ".registers")

_LABEL = re.compile(r"\s*([^\s:,;#]+)\s*:")
_WORD = re.compile(r"\s*([^\s,]+)")
_DECIMAL = re.compile(r"-?[0-9]+\Z")
# 65,536 instructions of up to ~100 characters each (the longest disassembled line is a
# store with two 32-character names and a 20-digit offset) fit, with the directives.
MAX_SOURCE_CHARS = 8 << 20
_MAX_DECIMAL_DIGITS = len(str(P - 1))
_HEX = re.compile(r"-?0[xX][0-9a-fA-F]+\Z")


@attrs.frozen
class _Token:
    text: str
    line: int
    column: int


@attrs.frozen
class _Statement:
    """An instruction before registers and labels are resolved.

    ``fields`` pairs each instruction field the op uses ("rd", "ra", "rb", "imm",
    "target") with its token, in source order; ``negate`` is set for ``[ra - imm]``,
    whose immediate is stored negated mod p.
    """

    op: Op
    mnemonic: _Token
    fields: tuple[tuple[str, _Token], ...]
    source: str
    negate: bool = False


#: What an address operand may look like, for error messages.
_ADDRESS_FORMS = "[register], [register + imm], [register - imm] or [imm]"


class _Assembler:
    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()
        self.statements: list[_Statement] = []
        self.labels: dict[str, tuple[int, _Token]] = {}
        self.pending_labels: list[_Token] = []
        self.inputs: list[_Token] = []
        self.declared: list[_Token] = []
        self.outputs: list[_Token] = []

    def error(self, message: str, line: int, column: int) -> AssemblyError:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return AssemblyError(message, line=line, column=column, source_line=text)

    def at(self, token: _Token, message: str) -> AssemblyError:
        return self.error(message, token.line, token.column)

    # ---- pass 1: lines -> statements, labels, directives ----

    def parse(self) -> None:
        for number, raw in enumerate(self.lines, start=1):
            self.parse_line(number, raw)
        if self.pending_labels:
            label = self.pending_labels[0]
            raise self.at(
                label,
                f"label '{label.text}' marks no instruction: put an instruction (e.g. halt) "
                "after it",
            )

    def parse_line(self, number: int, raw: str) -> None:
        cut = min((i for i in (raw.find(";"), raw.find("#")) if i >= 0), default=len(raw))
        text = raw[:cut]
        pos = 0
        while match := _LABEL.match(text, pos):
            token = _Token(match.group(1), number, match.start(1) + 1)
            self.define_label(token)
            pos = match.end()
        word = _WORD.match(text, pos)
        if word is None:
            return  # blank, comment-only or label-only line
        head = _Token(word.group(1), number, word.start(1) + 1)
        operands = self.split_operands(text, word.end(), number)
        if head.text.startswith("."):
            if self.pending_labels:
                label = self.pending_labels[0]
                raise self.at(label, f"label '{label.text}' must be followed by an instruction")
            self.parse_directive(head, operands)
        else:
            self.parse_instruction(head, operands, " ".join(text.split()))

    def define_label(self, token: _Token) -> None:
        if not REGISTER_NAME.match(token.text):
            raise self.at(
                token,
                f"bad label name '{token.text}': expected a letter or '_' followed by "
                "letters, digits or '_'",
            )
        if token.text in self.labels:
            first = self.labels[token.text][1]
            raise self.at(
                token, f"duplicate label '{token.text}': already defined on line {first.line}"
            )
        self.labels[token.text] = (len(self.statements), token)
        self.pending_labels.append(token)

    def split_operands(self, text: str, start: int, number: int) -> tuple[_Token, ...]:
        """The comma-separated operands after the mnemonic, with their columns. An
        address ``[ ... ]`` is one operand and may contain spaces (``[a + 4]``)."""
        rest = text[start:]
        if not rest.strip():
            return ()
        tokens = []
        offset = start
        for piece in _split_top_level(rest):
            stripped = piece.strip()
            column = offset + (len(piece) - len(piece.lstrip())) + 1
            if not stripped:
                raise self.error(
                    "empty operand: expected operands separated by single commas",
                    number,
                    column if piece else offset + 1,
                )
            self.check_operand_shape(stripped, number, column)
            tokens.append(_Token(stripped, number, column))
            offset += len(piece) + 1
        return tuple(tokens)

    def check_operand_shape(self, text: str, number: int, column: int) -> None:
        """One operand is a word, or one bracketed address; anything else is a missing
        comma or a malformed address."""
        if text.startswith("["):
            if "[" in text[1:]:
                raise self.error(
                    "addresses do not nest: load the inner address into a register first",
                    number,
                    column + text.index("[", 1),
                )
            close = text.find("]")
            if close < 0:
                raise self.error(
                    f"missing ']': an address is written {_ADDRESS_FORMS}",
                    number,
                    column + len(text),
                )
            if close != len(text) - 1:
                raise self.error(
                    f"expected ',' after the address '{text[: close + 1]}', got "
                    f"'{text[close + 1 :].strip()}'",
                    number,
                    column + close + 1 + (len(text[close + 1 :]) - len(text[close + 1 :].lstrip())),
                )
            return
        bracket = min((i for i in (text.find("["), text.find("]")) if i >= 0), default=-1)
        if bracket >= 0:
            raise self.error(
                f"unexpected '{text[bracket]}' in operand '{text}': an address is a whole "
                f"operand, written {_ADDRESS_FORMS}",
                number,
                column + bracket,
            )
        inner = re.search(r"\s", text)
        if inner is not None:
            raise self.error(
                f"expected ',' between operands, got '{text}'",
                number,
                column + inner.start() + 1,
            )

    def parse_directive(self, head: _Token, operands: tuple[_Token, ...]) -> None:
        name = head.text.lower()
        if name not in DIRECTIVES:
            raise self.at(head, f"unknown directive '{head.text}'{_suggest(name, DIRECTIVES)}")
        if not operands:
            raise self.at(head, f"{name} expects one or more register names, e.g. '{name} x, y'")
        for token in operands:
            self.check_register_name(token)
        if name == ".input":
            for token in operands:
                if any(t.text == token.text for t in self.inputs):
                    raise self.at(token, f"input '{token.text}' is declared twice")
                if len(self.inputs) == V2_MAX_INPUTS:
                    raise self.at(token, f"too many inputs: the limit is {V2_MAX_INPUTS}")
                self.inputs.append(token)
        elif name == ".output":
            for token in operands:
                if len(self.outputs) == V2_MAX_OUTPUTS:
                    raise self.at(token, f"too many outputs: the limit is {V2_MAX_OUTPUTS}")
                self.outputs.append(token)
        else:
            for token in operands:
                if any(t.text == token.text for t in self.declared):
                    raise self.at(token, f"register '{token.text}' is declared twice")
                self.declared.append(token)

    def parse_instruction(self, head: _Token, operands: tuple[_Token, ...], source: str) -> None:
        op = MNEMONICS.get(head.text.lower())
        if op is None:
            raise self.at(
                head,
                f"unknown instruction '{head.text}'{_suggest(head.text.lower(), list(MNEMONICS))}",
            )
        if len(self.statements) == V2_MAX_INSTRUCTIONS:
            raise self.at(head, f"too many instructions: the limit is {V2_MAX_INSTRUCTIONS}")
        if op in (Op.LOAD, Op.STORE):
            statement = self.memory_statement(op, head, operands, source)
        else:
            statement = self.plain_statement(op, head, operands, source)
        self.pending_labels.clear()
        self.statements.append(statement)

    def plain_statement(
        self, op: Op, head: _Token, operands: tuple[_Token, ...], source: str
    ) -> _Statement:
        """An instruction whose operands map one to one onto its fields."""
        if len(operands) != len(op.operands):
            got = f"got {len(operands)} operand{'s' if len(operands) != 1 else ''}"
            token = operands[len(op.operands)] if len(operands) > len(op.operands) else head
            raise self.at(token, f"{_expected_form(op)}, {got}")
        for field, token in zip(op.operands, operands, strict=True):
            if token.text.startswith("["):
                raise self.at(
                    token,
                    f"{op.mnemonic} takes no address; only load and store access memory "
                    f"({_expected_form(op)})",
                )
            if field in REGISTER_FIELDS:
                self.check_register_name(token, op, field)
            elif field == "imm":
                _ = self.immediate(token, op)
            elif not REGISTER_NAME.match(token.text):
                raise self.at(
                    token, f"{op.mnemonic} expects a label as its target, got '{token.text}'"
                )
        return _Statement(op, head, tuple(zip(op.operands, operands, strict=True)), source)

    def memory_statement(
        self, op: Op, head: _Token, operands: tuple[_Token, ...], source: str
    ) -> _Statement:
        """``load rd, [address]`` or ``store [address], rb``: the address form picks the
        encoding (LOAD/STORE with a base register, LOAD_ABS/STORE_ABS for ``[imm]``)."""
        name = op.mnemonic
        shape = "load rd, [address]" if op is Op.LOAD else "store [address], rb"
        if len(operands) != 2:
            got = f"got {len(operands)} operand{'s' if len(operands) != 1 else ''}"
            token = operands[2] if len(operands) > 2 else head
            raise self.at(token, f"{name} is written {shape}, the address {_ADDRESS_FORMS}; {got}")
        first, second = operands
        register, address = (first, second) if op is Op.LOAD else (second, first)
        if not address.text.startswith("["):
            if register.text.startswith("["):
                swapped = (
                    f"load {second.text}, {first.text}"
                    if op is Op.LOAD
                    else f"store {second.text}, {first.text}"
                )
                raise self.at(first, f"{name} is written {shape}: did you mean '{swapped}'?")
            raise self.at(
                address,
                f"{name} expects an address in brackets, {_ADDRESS_FORMS}, got "
                f"'{address.text}' (e.g. {shape.replace('[address]', f'[{address.text}]')})",
            )
        if register.text.startswith("["):
            raise self.at(register, f"{name} accesses one address: it is written {shape}")
        field = "rd" if op is Op.LOAD else "rb"
        self.check_register_name(register, op, field)
        base, offset, negate = self.address(address, op)
        if base is None:
            op = Op.LOAD_ABS if op is Op.LOAD else Op.STORE_ABS
            fields: tuple[tuple[str, _Token], ...] = ((field, register), ("imm", offset))
        else:
            fields = ((field, register), ("ra", base), ("imm", offset))
            if op is Op.STORE:
                fields = (("ra", base), ("imm", offset), (field, register))
        return _Statement(op, head, fields, source, negate)

    def address(self, token: _Token, op: Op) -> tuple[_Token | None, _Token, bool]:
        """Split ``[ra]``, ``[ra + imm]``, ``[ra - imm]`` or ``[imm]`` into (base register
        token or None, immediate token, negate). ``[ra]`` has the immediate ``0``."""
        inner = token.text[1:-1]
        column = token.column + 1  # column of the first character inside the brackets
        lead = len(inner) - len(inner.lstrip())
        stripped = inner.strip()
        # A leading '-' belongs to an absolute address's number ([-1] is [p - 1]).
        match = re.match(r"(-?[^+-]*)(?:([+-])(.*))?\Z", stripped, re.DOTALL)
        assert match is not None  # each part may be empty, so every string matches
        base_raw, sign, rest_raw = match.groups()
        base_text = base_raw.strip()
        base = _Token(base_text, token.line, column + lead)
        if not base_text:
            raise self.at(
                base if stripped else token,
                f"empty address: {op.mnemonic} expects {_ADDRESS_FORMS}",
            )
        if not (REGISTER_NAME.match(base_text) or _looks_numeric(base_text)):
            raise self.at(
                base,
                f"bad address '[{stripped}]': {op.mnemonic} expects {_ADDRESS_FORMS}",
            )
        if sign is None:
            if _looks_numeric(base_text):
                _ = self.immediate(base, op)
                return None, base, False
            self.check_address_register(base, op)
            return base, _Token("0", token.line, base.column), False
        rest = rest_raw.strip()
        sign_index = lead + len(base_raw)
        gap2 = len(rest_raw) - len(rest_raw.lstrip())
        offset_column = column + sign_index + 1 + gap2
        offset = _Token(rest, token.line, offset_column)
        if _looks_numeric(base_text):
            hint = (
                f"; write [{rest} {sign} {base_text}]"
                if sign == "+" and REGISTER_NAME.match(rest)
                else "; an absolute address is one number, [imm]"
            )
            raise self.at(base, f"the register comes first in an address{hint}")
        self.check_address_register(base, op)
        if not rest:
            raise self.at(
                _Token(sign, token.line, column + sign_index),
                f"missing offset after '{sign}': expected {_ADDRESS_FORMS}",
            )
        if re.search(r"\s|[+-]", rest.lstrip("-")):
            raise self.at(
                offset,
                f"an address has one offset, got '{rest}': compute the address in a register "
                f"first, then write [register + imm]",
            )
        if REGISTER_NAME.match(rest):
            raise self.at(
                offset,
                f"the offset of an address must be an immediate, got register '{rest}': "
                f"compute the address first (add t, {base_text}, {rest}) and write [t]",
            )
        _ = self.immediate(offset, op)
        return base, offset, sign == "-"

    def check_address_register(self, token: _Token, op: Op) -> None:
        if not REGISTER_NAME.match(token.text):
            raise self.at(
                token,
                f"bad address base '{token.text}': {op.mnemonic} expects {_ADDRESS_FORMS}, "
                "where register is a name",
            )
        self.check_register_name(token, op, "ra")

    def check_register_name(self, token: _Token, op: Op | None = None, field: str = "") -> None:
        if REGISTER_NAME.match(token.text):
            if len(token.text) > MAX_NAME:
                raise self.at(
                    token,
                    f"register name '{token.text}' has {len(token.text)} characters, "
                    f"the limit is {MAX_NAME}",
                )
            return
        what = f"{op.mnemonic} expects a register for {field}" if op else "expected a register"
        hint = ""
        if op is not None and _looks_numeric(token.text):
            immediate_form = {Op.MOV: "set", Op.ADD: "addi", Op.SUB: "subi", Op.MUL: "muli"}
            if op in immediate_form:
                hint = f"; for an immediate use {immediate_form[op]}"
        raise self.at(
            token,
            f"{what}, got '{token.text}': a register name is a letter or '_' followed by "
            f"letters, digits or '_'{hint}",
        )

    def immediate(self, token: _Token, op: Op) -> int:
        text = token.text
        # |imm| < p has at most 20 significant decimal digits; checking the length first
        # keeps int() away from huge literals (and Python's digit limit) entirely.
        if _DECIMAL.match(text) and len(text.lstrip("-").lstrip("0")) > _MAX_DECIMAL_DIGITS:
            raise self.at(
                token,
                f"immediate {text[:24]}... is out of range: expected an integer in "
                f"[-(p-1), p-1] with p = {P}",
            )
        if _HEX.match(text):
            value = int(text, 16)
        elif _DECIMAL.match(text):
            value = int(text, 10)
        else:
            hint = ""
            register_form = {Op.SET: "mov", Op.ADDI: "add", Op.SUBI: "sub", Op.MULI: "mul"}
            if REGISTER_NAME.match(text) and op in register_form:
                hint = f"; to use a register write {register_form[op]}"
            raise self.at(
                token,
                f"{op.mnemonic} expects an immediate (decimal or 0x hex) for imm, "
                f"got '{text}'{hint}",
            )
        if not -(P - 1) <= value <= P - 1:
            raise self.at(
                token,
                f"immediate {text} is out of range: expected an integer in [-(p-1), p-1] "
                f"with p = {P}",
            )
        return value % P

    # ---- pass 2: registers and labels -> Program ----

    def build(self) -> Program:
        index: dict[str, int] = {}
        where: list[_Token] = []

        def allocate(token: _Token) -> None:
            if token.text in index:
                return
            if len(index) == V2_MAX_REGISTERS:
                raise self.at(
                    token,
                    f"too many registers: '{token.text}' would be number "
                    f"{V2_MAX_REGISTERS + 1}, the limit is {V2_MAX_REGISTERS}",
                )
            index[token.text] = len(index)
            where.append(token)

        for token in self.inputs:
            allocate(token)
        for token in self.declared:
            if token.text in index:
                raise self.at(
                    token, f"register '{token.text}' is an input; .registers lists the others"
                )
            allocate(token)
        for statement in self.statements:
            for field, token in statement.fields:
                if field in REGISTER_FIELDS:
                    allocate(token)
        if not self.statements:
            raise self.error(
                "the program has no instructions; it needs at least a halt",
                max(len(self.lines), 1),
                1,
            )

        instructions = []
        for statement in self.statements:
            fields: dict[str, int] = {}
            for field, token in statement.fields:
                if field in REGISTER_FIELDS:
                    fields[field] = index[token.text]
                elif field == "imm":
                    value = self.immediate(token, statement.op)
                    fields["imm"] = (P - value) % P if statement.negate else value
                else:
                    if token.text not in self.labels:
                        known = list(self.labels)
                        raise self.at(
                            token, f"undefined label '{token.text}'{_suggest(token.text, known)}"
                        )
                    fields["target"] = self.labels[token.text][0]
            instructions.append(Instruction(statement.op, **fields))

        outputs = []
        for token in self.outputs:
            if token.text not in index:
                raise self.at(
                    token,
                    f"output register '{token.text}' is never written and is not an input",
                )
            outputs.append(index[token.text])

        registers = tuple(index)
        problem = validate(registers, len(self.inputs), tuple(outputs), tuple(instructions))
        if problem is not None:
            if problem.instruction is not None:
                statement = self.statements[problem.instruction]
                raise self.at(statement.mnemonic, problem.message)
            if problem.output is not None:
                raise self.at(self.outputs[problem.output], problem.message)
            if problem.register is not None:
                raise self.at(where[problem.register], problem.message)
            last = self.statements[-1].mnemonic
            raise self.at(last, problem.message)
        return Program(
            registers,
            len(self.inputs),
            tuple(outputs),
            tuple(instructions),
            source_lines=tuple(s.source for s in self.statements),
        )


def _expected_form(op: Op) -> str:
    if not op.operands:
        return f"{op.mnemonic} takes no operands"
    return f"{op.mnemonic} expects {FORMS[op].split(' ', 1)[1]}"


def _split_top_level(text: str) -> list[str]:
    """``text`` split at the commas outside brackets (an address may hold no comma, but
    a stray one inside brackets is reported as a bad address, not as two operands)."""
    pieces = []
    depth = 0
    start = 0
    for i, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return pieces


def _suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    if close:
        return f"; did you mean '{close[0]}'?"
    if choices and len(choices) <= 20:
        return f"; expected one of: {', '.join(choices)}"
    return ""


def _looks_numeric(text: str) -> bool:
    return bool(_DECIMAL.match(text) or _HEX.match(text))


def assemble(source: str) -> Program:
    """Assemble ``.zkasm`` source text into a validated :class:`Program`.

    :raises AssemblyError: on any mistake, with line, column, source line and a message
        saying what is wrong and what was expected.
    """
    if len(source) > MAX_SOURCE_CHARS:
        # 65,536 instructions never need this much text; refusing early bounds the work a
        # hostile input can cause before any token is read.
        raise AssemblyError(
            f"source is {len(source):,} characters; the limit is {MAX_SOURCE_CHARS:,}",
            line=1,
            column=1,
        )
    assembler = _Assembler(source)
    assembler.parse()
    return assembler.build()
