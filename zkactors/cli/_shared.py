"""Helpers the ``run``, ``prove`` and ``verify`` commands share: exit codes, naming a
program on the command line, reading and writing files (``-`` for stdin/stdout), reading
inputs, and printing values and assembly errors the same way."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO, TypeVar

from zkactors import programs
from zkactors.errors import AssemblyError, InputError
from zkactors.zkvm.assembler import assemble
from zkactors.zkvm.program import Program
from zkactors.zkvm.prover import CancelToken

T = TypeVar("T")


def interruptible(work: Callable[[CancelToken], T]) -> T:
    """``work(token)`` in a worker thread, so that Ctrl-C stops it promptly.

    A signal reaches Python only in the main thread, and only between bytecodes: while
    the main thread itself is inside the native prover, Ctrl-C would wait for the proof
    to end. Here the main thread only waits (an interruptible join); on
    KeyboardInterrupt it cancels the token, waits the ~0.1 s the prover takes to stop
    and free its memory, and re-raises. ``work``'s own exceptions are re-raised here.
    """
    token = CancelToken()
    outcome: list[T] = []
    failure: list[BaseException] = []

    def body() -> None:
        try:
            outcome.append(work(token))
        except BaseException as exc:  # handed to the main thread, which re-raises it
            failure.append(exc)

    worker = threading.Thread(target=body, name="zkactors-prove", daemon=True)
    worker.start()
    try:
        worker.join()
    except KeyboardInterrupt:
        token.cancel()
        # A second Ctrl-C here ends the wait; the daemon thread then dies with the process.
        worker.join()
        raise
    if failure:
        raise failure[0]
    return outcome[0]


#: Exit statuses, the same for every command (scripts tell the cases apart by them).
EXIT_OK = 0
#: The input was read but is not valid: a receipt that fails verification, a program that
#: does not assemble, wrong inputs, a program that fails when run, an unknown program name.
EXIT_INVALID = 1
#: The command line itself is wrong (argparse's status for usage errors).
EXIT_USAGE = 2
#: A file could not be read or written: missing, a directory, no permission, disk full.
EXIT_UNREADABLE = 3

EXIT_STATUS_HELP = f"""\
exit status:
  {EXIT_OK}  success (for verify: the receipt is valid)
  {EXIT_INVALID}  invalid: the receipt fails verification, the program does not assemble
     or fails when run, the inputs are wrong, or no program has that name
  {EXIT_USAGE}  usage error: unknown option, missing argument, value out of range
  {EXIT_UNREADABLE}  a file could not be read or written (missing, a directory, no permission)"""

#: A receipt, program or output file given as ``-`` is stdin or stdout.
STDIO = "-"


class FileAccessError(Exception):
    """A file named on the command line could not be read or written; ``main`` prints it
    and exits with :data:`EXIT_UNREADABLE`. Deliberately not a ``ZkActorsError``: it is
    about the user's file system, not about anything the library was given."""


def source_name(spec: str) -> str:
    """How messages name a program given on the command line."""
    return "<stdin>" if spec == STDIO else spec


#: Past the limit, a pipe is read (and counted, not kept) up to this many bytes to state its
#: size; a regular file's size is simply asked for.
_COUNT_AT_MOST = 1 << 30


def read_input_file(spec: str, *, limit: int | None = None) -> tuple[bytes, int]:
    """The bytes of file ``spec`` (``-``: stdin) and its real size.

    With ``limit``, at most ``limit + 1`` bytes are kept (enough to know it is too long),
    but the size returned is still the file's real size, so the message can state it
    (for a pipe longer than 1 GiB, a lower bound: the stream is not read to its end).

    :raises FileAccessError: if it cannot be read.
    """
    try:
        if spec == STDIO:
            return _read_stream(sys.stdin.buffer, limit, count_rest=True)
        with open(spec, "rb") as file:
            info = os.fstat(file.fileno())
            regular = stat.S_ISREG(info.st_mode)
            data, size = _read_stream(file, limit, count_rest=not regular)
            return data, max(size, info.st_size) if regular else size
    except OSError as exc:
        raise FileAccessError(f"cannot read {source_name(spec)}: {exc.strerror or exc}") from None


def _read_stream(stream: Any, limit: int | None, *, count_rest: bool) -> tuple[bytes, int]:
    if limit is None:
        data = stream.read()
        return data, len(data)
    kept = stream.read(limit + 1)
    size = len(kept)
    # A pipe has no size to ask for: count the rest without keeping it.
    while count_rest and size > limit and size < _COUNT_AT_MOST:
        chunk = stream.read(1 << 16)
        if not chunk:
            break
        size += len(chunk)
    return kept, size


def write_output_file(spec: str | Path, data: bytes) -> None:
    """Write ``data`` to file ``spec`` (``-``: stdout).

    :raises FileAccessError: if it cannot be written.
    """
    try:
        if str(spec) == STDIO:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            Path(spec).write_bytes(data)
    except OSError as exc:
        raise FileAccessError(f"cannot write {spec}: {exc.strerror or exc}") from None


def load_program(spec: str) -> Program:
    """A built-in program by name, or the assembled contents of a ``.zkasm`` file
    (``-``: the source read from stdin).

    :raises UnknownProgramError: if ``spec`` is neither a built-in name nor a path.
    :raises FileAccessError: if ``spec`` names a file that cannot be read.
    :raises AssemblyError: if the file does not assemble or is not UTF-8 text.
    """
    path = Path(spec)
    # A built-in name wins unless a file of that name is here (then the file is meant).
    if spec != STDIO and spec in programs.names() and not path.is_file():
        return programs.load(spec)
    if spec == STDIO or path.exists() or spec.endswith(".zkasm") or os.sep in spec:
        data, _ = read_input_file(spec)
        return assemble(_decode_source(data))
    return programs.load(spec)  # raises UnknownProgramError listing the library


def _decode_source(data: bytes) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark, which some editors write, is
    dropped); a bad byte is an assembly error at its line and column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # exc.object, not data: utf-8-sig reports positions in the text after the mark.
        data, start = bytes(exc.object), exc.start
        line_start = data.rfind(b"\n", 0, start) + 1
        line_end = data.find(b"\n", start)
        line = data[line_start : line_end if line_end >= 0 else len(data)]
        raise AssemblyError(
            f"not UTF-8 text (byte 0x{data[start]:02x}); save the file as UTF-8",
            line=data.count(b"\n", 0, start) + 1,
            column=len(data[line_start:start].decode("utf-8", "replace")) + 1,
            source_line=line.decode("utf-8", "replace").rstrip("\r"),
        ) from None


def parse_inputs(program: Program, texts: list[str]) -> list[int]:
    """The integers of ``texts`` (decimal or ``0x`` hex) as the program's inputs: one per
    ``.input`` register, then, for a program with ``read`` (instruction set v2), its
    stream inputs (up to 2^16 values in all).

    :raises InputError: on a wrong count or a value that is not an integer.
    """
    if not program.reads_stream and len(texts) != program.n_inputs:
        names = " ".join(program.inputs) or "(none)"
        raise InputError(
            f"the program takes {program.n_inputs} input{'s' if program.n_inputs != 1 else ''} "
            f"({names}), got {len(texts)}"
        )
    if program.reads_stream and len(texts) < program.n_inputs:
        names = " ".join(program.inputs)
        raise InputError(
            f"the program takes {program.n_inputs} input{'s' if program.n_inputs != 1 else ''} "
            f"({names}) before its stream inputs, got {len(texts)}"
        )
    values = []
    for index, text in enumerate(texts):
        name = (
            repr(program.inputs[index])
            if index < program.n_inputs
            else f"stream input {index - program.n_inputs}"
        )
        try:
            values.append(int(text, 0))
        except ValueError:
            raise InputError(
                f"input {name} must be an integer in [0, p) (decimal or 0x hex), got {text!r}"
            ) from None
    # The count limit (2^16) and the range [0, p) are the library's checks.
    program.check_inputs(values)
    return values


def read_inputs_file(spec: str) -> list[str]:
    """The values of an ``--inputs`` file (``-``: stdin): a JSON array of integers, or
    integers separated by whitespace or commas (decimal or ``0x`` hex).

    :raises FileAccessError: if it cannot be read.
    :raises InputError: if it is neither form.
    """
    data, _ = read_input_file(spec)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{source_name(spec)}: the inputs file is not UTF-8 text") from None
    if text.lstrip().startswith("["):
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source_name(spec)}: not a JSON array: {exc}") from None
        if not isinstance(values, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in values
        ):
            raise InputError(f"{source_name(spec)}: expected a JSON array of integers")
        return [str(v) for v in values]
    return text.replace(",", " ").split()


def add_input_arguments(parser: Any) -> None:
    """The positional INPUT values and ``--inputs FILE``, the same for run and prove."""
    parser.add_argument(
        "inputs",
        metavar="INPUT",
        nargs="*",
        help="the program's inputs, in .input order; a program with 'read' takes its "
        "stream inputs after them",
    )
    parser.add_argument(
        "--inputs",
        dest="inputs_file",
        metavar="FILE",
        default=None,
        help="more inputs, after any INPUT values: a JSON array of integers or integers "
        "separated by whitespace or commas (- for stdin); for long input streams",
    )


def stdin_conflict(command: str, args: Any) -> int | None:
    """:data:`EXIT_USAGE` (after saying why) if the program and ``--inputs`` both name
    stdin, which can be read only once; else None."""
    if args.program == STDIO and args.inputs_file == STDIO:
        print(
            f"zkactors {command}: error: the program and --inputs cannot both come from "
            "stdin (-); give one of them as a file",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return None


def inputs_from_args(program: Program, args: Any) -> list[int]:
    """The inputs a run/prove command line gives: INPUT values, then ``--inputs FILE``."""
    texts = list(args.inputs)
    if args.inputs_file is not None:
        texts += read_inputs_file(args.inputs_file)
    return parse_inputs(program, texts)


def split_outputs(program: Program, values: Iterable[int]) -> tuple[dict[str, int], list[int]]:
    """A statement's outputs as the ``.output`` registers by name and the values the run
    wrote with ``write`` (instruction set v2), which follow them."""
    values = list(values)
    named = dict(zip(program.outputs, values[: len(program.outputs)], strict=True))
    return named, values[len(program.outputs) :]


def split_inputs(program: Program, values: Iterable[int]) -> tuple[dict[str, int], list[int]]:
    """A statement's inputs as the ``.input`` registers by name and the stream inputs."""
    values = list(values)
    named = dict(zip(program.inputs, values[: program.n_inputs], strict=True))
    return named, values[program.n_inputs :]


#: The human summaries show at most this many stream values (``--json`` gives them all).
SHOWN_VALUES = 8


def value_list(values: list[int], *, limit: int | None = SHOWN_VALUES) -> str:
    """``[1, 2, 3]``, or the first ``limit`` values and how many there are in all."""
    if limit is None or len(values) <= limit:
        return "[" + ", ".join(map(str, values)) + "]"
    shown = ", ".join(map(str, values[:limit]))
    return f"[{shown}, ... ({len(values)} values)]"


def describe_outputs(program: Program, values: Iterable[int]) -> str:
    """``a=1, b=2`` for the ``.output`` registers, then ``; written [..]`` if the program
    can write (a v2 program)."""
    named, written = split_outputs(program, values)
    if program.format != 2:
        return assignments(named, named.values())
    registers = f"{assignments(named, named.values())}; " if named else ""
    return f"{registers}written {value_list(written)}"


def describe_inputs(program: Program, values: Iterable[int]) -> str:
    """``n=1`` for the ``.input`` registers, then ``; stream [..]`` for a program that reads."""
    named, stream = split_inputs(program, values)
    if not program.reads_stream:
        return assignments(named, named.values())
    registers = f"{assignments(named, named.values())}; " if named else ""
    return f"{registers}stream {value_list(stream)}"


AIR_NAMES = {1: "register AIR (AIR 1)", 2: "machine AIR (AIR 2)"}


def assignments(names: Iterable[str], values: Iterable[int]) -> str:
    """``a=1, b=2``, or ``(none)`` for a program without such values."""
    return ", ".join(f"{name}={value}" for name, value in zip(names, values, strict=True)) or (
        "(none)"
    )


def print_json(payload: dict[str, Any], *, file: TextIO | None = None) -> None:
    """One JSON object on one line (what ``--json`` prints), on stdout unless ``file``."""
    print(json.dumps(payload), file=file or sys.stdout)


def report_assembly_error(command: str, spec: str, exc: AssemblyError) -> int:
    """Print ``exc`` compiler-style (file:line:column, the line, a caret); return
    :data:`EXIT_INVALID`."""
    print(
        f"zkactors {command}: {source_name(spec)}:{exc.line}:{exc.column}: error: {exc.message}",
        file=sys.stderr,
    )
    if exc.source_line:
        print(f"    {exc.source_line}\n    {' ' * (max(exc.column, 1) - 1)}^", file=sys.stderr)
    return EXIT_INVALID
