"""Receipts: a statement (program, inputs, outputs, trace length, profile) and its STARK
proof, in the binary format of protocol.md 10 (format 2, a proof under the register AIR,
AIR 1) or 16 (format 3, a proof under the machine AIR, AIR 2). ``Receipt.air`` says which.

A :class:`Receipt` names its program only by hash; checking it needs the program itself
(``zkactors.verify(receipt, program)``). It does not record the number of cycles the run
took: the proof fixes only the trace length ``T``, a power of two above it.

:meth:`Receipt.from_bytes` is strict, because receipts arrive from outside: every count is
checked against the bound the header implies before anything is sliced, the proof is
walked section by section with the sizes the trace length and the profile dictate, every
field element must be canonical and nothing may follow the proof. Any deviation raises
:class:`~zkactors.errors.ReceiptFormatError`; no input makes it raise anything else or
allocate more than the input's own size. Decoding checks *shape*, not validity: only a
verifier says whether the proof proves its statement.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from zkactors import profiles
from zkactors.errors import ProfileError, ReceiptFormatError

if TYPE_CHECKING:
    from zkactors.zkvm.program import Program

MAGIC = b"ZKRC"
#: 2 since the proof's challenges and K-valued openings are in the cubic extension field.
FORMAT_VERSION = 2
#: Version 1 receipts were made with challenges from a quadratic extension; they are
#: refused with this explanation (the same words in both verifiers), never reinterpreted.
OLD_FORMAT_MESSAGE = (
    "receipt format version 1 was made by an earlier version of zkactors (challenges from "
    "the quadratic extension field) and is no longer accepted; prove the statement again to "
    "get a version 2 receipt"
)

#: The Goldilocks prime: field elements are LE64 values below it.
P = 2**64 - 2**32 + 1
MAX_INPUTS = 16
MAX_OUTPUTS = 16
#: Format 3 (AIR 2, protocol.md 16): the statement's inputs and outputs, each at most 2^16.
FORMAT_VERSION_AIR2 = 3
MAX_IO_AIR2 = 1 << 16
AIR2_WIDTH = 56
AIR2_AUX_WIDTH = 10
AIR2_SEGMENTS = 3
MIN_LOG_TRACE_LENGTH_AIR2 = 8
#: A format-3 receipt is at most 2 MiB (its I/O alone can be 1 MiB).
MAX_RECEIPT3_BYTES = 2 * 1024 * 1024
#: 64 registers + 128 selectors + at most 128 branch helpers.
MAX_TRACE_WIDTH = 64 + 128 + 128
MIN_LOG_TRACE_LENGTH = 3
MAX_LOG_TRACE_LENGTH = 26
#: No v2 receipt is larger (the largest any statement implies is 382,237 bytes, profile
#: ``high`` at the maximal T and width); anything longer is refused before it is read.
MAX_RECEIPT_BYTES = 512 * 1024

_DIGEST = 32
_BASE = 8  # bytes of an element of F
_EXT_DEGREE = 3  # [K : F]: an element of K is 3 LE64 coordinates, 24 bytes
_NATIVE_LITTLE_ENDIAN = sys.byteorder == "little"


def _fail(message: str) -> ReceiptFormatError:
    return ReceiptFormatError(f"malformed receipt: {message}")


def _check_elements(name: str, values: tuple[int, ...]) -> tuple[int, ...]:
    if len(values) > MAX_IO_AIR2:
        raise _fail(f"{len(values)} {name}; at most {MAX_IO_AIR2} are allowed")
    for v in values:
        if type(v) is not int or not 0 <= v < P:
            raise _fail(f"{name} must be field elements, ints in [0, p); got {v!r}")
    return values


def _as_tuple(values: Iterable[int]) -> tuple[int, ...]:
    try:
        return tuple(values)
    except TypeError:
        raise _fail(f"expected a sequence of field elements, got {values!r}") from None


def _validate_hash(_: Any, __: Any, value: str) -> None:
    if not (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    ):
        raise _fail(f"program_hash must be 64 lowercase hex digits, got {value!r}")


def _validate_inputs(_: Any, __: Any, value: tuple[int, ...]) -> None:
    _check_elements("inputs", value)


def _validate_outputs(_: Any, __: Any, value: tuple[int, ...]) -> None:
    _check_elements("outputs", value)


def _validate_trace_length(_: Any, __: Any, value: int) -> None:
    if (
        type(value) is not int
        or value <= 0
        or value & (value - 1)
        or not MIN_LOG_TRACE_LENGTH <= value.bit_length() - 1 <= MAX_LOG_TRACE_LENGTH
    ):
        raise _fail(
            f"trace_length must be a power of two in [2^{MIN_LOG_TRACE_LENGTH}, "
            f"2^{MAX_LOG_TRACE_LENGTH}], got {value!r}"
        )


def _validate_profile(_: Any, __: Any, value: str) -> None:
    try:
        profiles.get(value)
    except ProfileError as exc:
        raise _fail(str(exc)) from None


def _validate_width(_: Any, __: Any, value: int) -> None:
    if type(value) is not int or not 1 <= value <= MAX_TRACE_WIDTH:
        raise _fail(f"trace_width must be in [1, {MAX_TRACE_WIDTH}], got {value!r}")


def _validate_proof(_: Any, __: Any, value: bytes) -> None:
    if type(value) is not bytes:
        raise _fail(f"proof must be bytes, got {type(value).__name__}")


def _validate_air(receipt: Any, __: Any, value: int) -> None:
    """The bounds that depend on the AIR: format 2 (AIR 1) allows 16 inputs and outputs
    and T >= 2^3; format 3 (AIR 2) 2^16 of each, w = 56 and T >= 2^8."""
    if type(value) is not int or value not in (1, 2):
        raise _fail(f"air must be 1 (the register AIR) or 2 (the machine AIR), got {value!r}")
    if value == 1:
        for name, values, bound in (
            ("inputs", receipt.inputs, MAX_INPUTS),
            ("outputs", receipt.outputs, MAX_OUTPUTS),
        ):
            if len(values) > bound:
                raise _fail(f"{len(values)} {name}; at most {bound} are allowed")
    else:
        if receipt.trace_width != AIR2_WIDTH:
            raise _fail(
                f"trace_width of an AIR 2 receipt is {AIR2_WIDTH}, got {receipt.trace_width}"
            )
        if receipt.trace_length < 1 << MIN_LOG_TRACE_LENGTH_AIR2:
            raise _fail(
                f"trace_length of an AIR 2 receipt is at least 2^{MIN_LOG_TRACE_LENGTH_AIR2}, "
                f"got {receipt.trace_length}"
            )


@attrs.frozen
class Receipt:
    """A statement and its proof; ``proof`` is everything after the header of
    protocol.md 10 (trace root onwards) or, for ``air = 2``, of protocol.md 16 (main root
    onwards: the aux root, aux OOD values and aux rows are in it), kept as opaque bytes.
    ``air`` is the AIR the proof is under: 1 (format 2) or 2 (format 3).

    Constructing one checks the statement fields' types and ranges (raising
    :class:`~zkactors.errors.ReceiptFormatError`); only :meth:`from_bytes` checks the
    proof's structure.
    """

    program_hash: str = attrs.field(validator=_validate_hash)
    inputs: tuple[int, ...] = attrs.field(converter=_as_tuple, validator=_validate_inputs)
    outputs: tuple[int, ...] = attrs.field(converter=_as_tuple, validator=_validate_outputs)
    trace_length: int = attrs.field(validator=_validate_trace_length)
    profile: str = attrs.field(validator=_validate_profile)
    trace_width: int = attrs.field(validator=_validate_width)
    proof: bytes = attrs.field(
        validator=_validate_proof, repr=lambda proof: f"<{len(proof)} bytes>"
    )
    air: int = attrs.field(default=1, validator=_validate_air)

    @property
    def format_version(self) -> int:
        """2 for an AIR 1 receipt, 3 for an AIR 2 receipt."""
        return FORMAT_VERSION if self.air == 1 else FORMAT_VERSION_AIR2

    @property
    def log_trace_length(self) -> int:
        return self.trace_length.bit_length() - 1

    def security_bits(self, program: Program) -> float:
        """The conjectured security, in bits, that every verifier assigns to this receipt
        for ``program``: :func:`zkactors.profiles.security_bits` of the receipt's profile,
        its trace length and the program's constraint count. Verification refuses the
        receipt (check ``policy``) when this is below the caller's ``min_security_bits``.

        It says how strong the proof would be, not that it is valid: only
        :func:`zkactors.verify` says that.

        :raises ValueError: if the receipt names another program.
        """
        from zkactors.zkvm.reference.air import Air  # the AIR imports the program module

        if program.hash != self.program_hash:
            raise ValueError(
                f"the receipt is for program {self.program_hash[:16]}…, not {program.hash[:16]}…"
            )
        if self.air == 2:
            from zkactors.zkvm.reference.air2 import N_CONSTRAINTS

            return profiles.security_bits(self.profile, self.trace_length, N_CONSTRAINTS, air=2)
        return profiles.security_bits(self.profile, self.trace_length, Air(program).n_constraints)

    @property
    def header_size(self) -> int:
        if self.air == 2:
            return 4 + 2 + 2 + _DIGEST + 4 + 8 * len(self.inputs) + 4 + 8 * len(self.outputs) + 5
        return 4 + 2 + 1 + _DIGEST + 2 + 8 * len(self.inputs) + 2 + 8 * len(self.outputs) + 3

    @property
    def size(self) -> int:
        """Length in bytes of :meth:`to_bytes`."""
        return self.header_size + len(self.proof)

    def to_bytes(self) -> bytes:
        """The receipt in the binary format of protocol.md 10 (AIR 1) or 16 (AIR 2)."""
        n_in, n_out = len(self.inputs), len(self.outputs)
        profile_id = profiles.get(self.profile).id
        if self.air == 2:
            count = "I"
            version = struct.pack("<HBB", FORMAT_VERSION_AIR2, profile_id, self.air)
            shape = struct.pack("<BHH", self.log_trace_length, self.trace_width, AIR2_AUX_WIDTH)
        else:
            count = "H"
            version = struct.pack("<HB", FORMAT_VERSION, profile_id)
            shape = struct.pack("<BH", self.log_trace_length, self.trace_width)
        return b"".join(
            (
                MAGIC,
                version,
                bytes.fromhex(self.program_hash),
                struct.pack(f"<{count}{n_in}Q", n_in, *self.inputs),
                struct.pack(f"<{count}{n_out}Q", n_out, *self.outputs),
                shape,
                self.proof,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Receipt:
        """Decode and strictly check a receipt (see the module docstring).

        :raises ReceiptFormatError: if ``data`` is not a well-formed version-2 or
            version-3 receipt (a version-1 receipt is refused with
            :data:`OLD_FORMAT_MESSAGE`).
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ReceiptFormatError(f"a receipt is decoded from bytes, not {type(data).__name__}")
        try:
            view = memoryview(data).cast("B")
        except TypeError as exc:
            raise _fail(f"not a contiguous byte buffer ({exc})") from None
        if view.nbytes > MAX_RECEIPT3_BYTES:
            raise _fail(
                f"{view.nbytes} bytes is larger than any receipt ({MAX_RECEIPT3_BYTES} at most)"
            )
        is_format_3 = bytes(view[4:6]) == FORMAT_VERSION_AIR2.to_bytes(2, "little")
        if view.nbytes > MAX_RECEIPT_BYTES and not is_format_3:
            raise _fail(
                f"{view.nbytes} bytes is larger than any v2 receipt ({MAX_RECEIPT_BYTES} at most)"
            )
        reader = _Reader(view)
        if reader.take(4) != MAGIC:
            raise _fail("bad magic; a receipt starts with b'ZKRC'")
        version = reader.u16()
        if version == 1:
            raise ReceiptFormatError(OLD_FORMAT_MESSAGE)
        if version not in (FORMAT_VERSION, FORMAT_VERSION_AIR2):
            raise _fail(
                f"format version {version}; this decoder reads versions {FORMAT_VERSION} "
                f"and {FORMAT_VERSION_AIR2}"
            )
        return cls._from_reader(reader, air=1 if version == FORMAT_VERSION else 2)

    @classmethod
    def _from_reader(cls, reader: _Reader, air: int) -> Receipt:
        """The rest of a format-2 (``air`` 1, protocol.md 10) or format-3 (``air`` 2,
        protocol.md 16) receipt, after magic and version."""
        profile_id = reader.u8()
        try:
            profile = profiles.by_id(profile_id)
        except ProfileError as exc:
            raise _fail(str(exc)) from None
        if air == 2:
            air_id = reader.u8()
            if air_id != 2:
                raise _fail(
                    f"air id {air_id}; a receipt of format version 3 proves AIR 2 (air id 2)"
                )
            max_in = max_out = MAX_IO_AIR2
            count_size, min_log_t = 4, MIN_LOG_TRACE_LENGTH_AIR2
        else:
            max_in, max_out = MAX_INPUTS, MAX_OUTPUTS
            count_size, min_log_t = 2, MIN_LOG_TRACE_LENGTH
        program_hash = reader.take(_DIGEST).hex()
        inputs = reader.elements("inputs", max_in, count_size)
        outputs = reader.elements("outputs", max_out, count_size)
        log_t = reader.u8()
        if not min_log_t <= log_t <= MAX_LOG_TRACE_LENGTH:
            raise _fail(
                f"log2 of the trace length is {log_t}, outside "
                f"[{min_log_t}, {MAX_LOG_TRACE_LENGTH}]"
            )
        width = reader.u16()
        if air == 2:
            if width != AIR2_WIDTH:
                raise _fail(f"trace width {width}; AIR 2's is {AIR2_WIDTH}")
            aux_width = reader.u16()
            if aux_width != AIR2_AUX_WIDTH:
                raise _fail(f"auxiliary width {aux_width}; AIR 2's is {AIR2_AUX_WIDTH}")
        elif not 1 <= width <= MAX_TRACE_WIDTH:
            raise _fail(f"trace width {width} outside [1, {MAX_TRACE_WIDTH}]")
        proof_start = reader.pos
        _walk_proof(reader, profile, log_t, _proof_layout(air, width))
        if reader.pos != len(reader.view):
            raise _fail(f"{len(reader.view) - reader.pos} trailing bytes after the proof")
        return cls(
            program_hash=program_hash,
            inputs=inputs,
            outputs=outputs,
            trace_length=1 << log_t,
            profile=profile.name,
            trace_width=width,
            proof=bytes(reader.view[proof_start:]),
            air=air,
        )


class _Reader:
    """A cursor over the receipt that refuses to read past its end."""

    __slots__ = ("pos", "view")

    def __init__(self, view: memoryview) -> None:
        self.view = view
        self.pos = 0

    def take(self, n: int, what: str = "") -> memoryview:
        end = self.pos + n
        if end > len(self.view):
            suffix = f" reading {what}" if what else ""
            raise _fail(
                f"truncated{suffix}: needed {n} bytes at offset {self.pos}, "
                f"{len(self.view) - self.pos} left"
            )
        chunk = self.view[self.pos : end]
        self.pos = end
        return chunk

    def u8(self) -> int:
        return int(self.take(1)[0])

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "little")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "little")

    def elements(self, name: str, bound: int, count_size: int = 2) -> tuple[int, ...]:
        count = self.u32() if count_size == 4 else self.u16()
        if count > bound:
            raise _fail(f"{count} {name}; at most {bound} are allowed")
        values = tuple(struct.unpack(f"<{count}Q", self.take(8 * count, name)))
        if values and max(values) >= P:
            raise _fail(f"{name} hold a non-canonical field element (>= p)")
        return values

    def canonical(self, n_words: int, what: str) -> None:
        """Skip ``n_words`` LE64 field elements, rejecting any that is >= p."""
        chunk = self.take(8 * n_words, what)
        if not n_words:
            return
        words = array("Q")
        words.frombytes(chunk)
        if not _NATIVE_LITTLE_ENDIAN:
            words.byteswap()
        if max(words) >= P:
            raise _fail(f"{what} holds a non-canonical field element (>= p)")

    def multiproof(self, what: str, opened: int, leaves: int) -> None:
        count = self.u32()
        bound = opened * (leaves.bit_length() - 1)
        if count > bound:
            raise _fail(
                f"{what} multiproof has {count} digests; {opened} openings in a tree of "
                f"{leaves} leaves need at most {bound}"
            )
        self.take(_DIGEST * count, f"{what} multiproof")


class _ProofLayout(NamedTuple):
    """What differs between a format-2 and a format-3 proof: the roots before the
    out-of-domain frame, the frame's size in K elements, and the opened rows (LE64 words
    per query position, what they are, and the multiproof that follows them)."""

    roots: int
    roots_what: str
    ood: int
    openings: tuple[tuple[int, str, str], ...]


def _proof_layout(air: int, width: int) -> _ProofLayout:
    if air == 2:
        return _ProofLayout(
            3,
            "the main, auxiliary and composition roots",
            2 * AIR2_WIDTH + 2 * AIR2_AUX_WIDTH + AIR2_SEGMENTS,
            (
                (AIR2_WIDTH, "the opened main rows", "main trace"),
                (AIR2_AUX_WIDTH * _EXT_DEGREE, "the opened auxiliary rows", "auxiliary trace"),
                (AIR2_SEGMENTS * _EXT_DEGREE, "the opened composition rows", "composition"),
            ),
        )
    return _ProofLayout(
        2,
        "the trace and composition roots",
        2 * width + 2,
        (
            (width, "the opened trace rows", "trace"),
            (2 * _EXT_DEGREE, "the opened composition rows", "composition"),
        ),
    )


def _walk_proof(
    reader: _Reader, profile: profiles.Profile, log_t: int, layout: _ProofLayout
) -> None:
    """Check the proof's structure (protocol.md 10 and 16) without interpreting it."""
    f = profile.folding_factor
    lde_size = profile.blowup << log_t
    layers, remainder_size = profile.fri_shape(1 << log_t)
    reader.take(layout.roots * _DIGEST, layout.roots_what)
    reader.canonical(layout.ood * _EXT_DEGREE, "the out-of-domain frame")
    n_layers = reader.u8()
    if n_layers != layers:
        raise _fail(
            f"{n_layers} FRI layers; trace length 2^{log_t} with profile "
            f"{profile.name!r} has {layers}"
        )
    reader.take(_DIGEST * layers, "the FRI layer roots")
    size = reader.u16()
    if size != remainder_size:
        raise _fail(
            f"FRI remainder of {size} coefficients; trace length 2^{log_t} with profile "
            f"{profile.name!r} has {remainder_size}"
        )
    reader.canonical(_EXT_DEGREE * remainder_size, "the FRI remainder")
    reader.take(8, "the grinding nonce")
    n_positions = reader.u16()
    if not 1 <= n_positions <= profile.queries:
        raise _fail(
            f"{n_positions} query positions; profile {profile.name!r} opens between 1 "
            f"and {profile.queries}"
        )
    for words, what, tree in layout.openings:
        reader.canonical(n_positions * words, what)
        reader.multiproof(tree, n_positions, lde_size)
    layer_size = lde_size
    for layer in range(layers):
        opened = reader.u16()
        if not 1 <= opened <= n_positions:
            raise _fail(
                f"FRI layer {layer} opens {opened} leaves; expected between 1 and the "
                f"{n_positions} query positions"
            )
        reader.canonical(opened * f * _EXT_DEGREE, f"the opened leaves of FRI layer {layer}")
        reader.multiproof(f"FRI layer {layer}", opened, layer_size // f)
        layer_size //= f
