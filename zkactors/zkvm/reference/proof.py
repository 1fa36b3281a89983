"""The proof part of a receipt (protocol.md 10), decoded strictly.

Every size is implied by the statement: the trace width w, the trace length T and the
profile fix the number of FRI layers L and the remainder size d_L; the receipt's own
counts (opened positions |P|, opened leaves k_l, multiproof lengths) are checked against
their bounds before anything is read with them. Field elements must be canonical
(``< p``), so each value has exactly one encoding and the transcript, which hashes
encodings, cannot be steered by re-encoding a value.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkactors.zkvm.reference.field import Ext, P


class ProofFormatError(Exception):
    """The proof bytes do not have the layout of protocol.md 10."""


@dataclass(frozen=True)
class Opening:
    """Opened leaves (each a list of K values) of one Merkle tree and their multiproof."""

    leaves: list[list[Ext]]
    proof: list[bytes]


@dataclass(frozen=True)
class TraceOpening:
    """Opened LDE rows (each w values of F) and their multiproof."""

    rows: list[list[int]]
    proof: list[bytes]


@dataclass(frozen=True)
class Proof:
    trace_root: bytes
    composition_root: bytes
    ood_current: list[Ext]  # t_j(z), j < w
    ood_next: list[Ext]  # t_j(z·ω_T)
    ood_composition: list[Ext]  # C_0(z), C_1(z)
    fri_roots: list[bytes]
    remainder: list[Ext]
    nonce: int
    trace: TraceOpening  # |P| rows of w base-field values
    composition: Opening  # |P| rows of (C_0(x), C_1(x))
    fri_layers: list[Opening]  # per layer, k_l leaves of f values


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise ProofFormatError(
                f"proof truncated in {what}: {n} bytes needed at offset {self.pos}, "
                f"{len(self.data) - self.pos} left"
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def uint(self, size: int, what: str) -> int:
        return int.from_bytes(self.take(size, what), "little")

    def base(self, what: str) -> int:
        value = self.uint(8, what)
        if value >= P:
            raise ProofFormatError(f"non-canonical field element {value} in {what}")
        return value

    def ext(self, what: str) -> Ext:
        c0 = self.base(what)
        c1 = self.base(what)
        return Ext(c0, c1, self.base(what))

    def digests(self, what: str, bound: int) -> list[bytes]:
        count = self.uint(4, what)
        if count > bound:
            raise ProofFormatError(f"{what} has {count} digests, more than the bound {bound}")
        return [self.take(32, what) for _ in range(count)]


def decode(
    data: bytes,
    *,
    width: int,
    log_trace_length: int,
    log_blowup: int,
    queries: int,
    folding_factor: int,
    layers: int,
    remainder_size: int,
) -> Proof:
    """Parse ``data`` (a receipt's proof bytes) with the sizes the statement implies.

    :raises ProofFormatError: on any deviation from the layout, a count out of its bound,
        a non-canonical element, or trailing bytes.
    """
    cur = _Cursor(data)
    log_lde = log_trace_length + log_blowup
    trace_root = cur.take(32, "the trace root")
    composition_root = cur.take(32, "the composition root")
    ood_current = [cur.ext("the OOD frame") for _ in range(width)]
    ood_next = [cur.ext("the OOD frame") for _ in range(width)]
    ood_composition = [cur.ext("the OOD frame") for _ in range(2)]
    fri_roots, remainder, nonce, n_positions = _fri_head(cur, layers, remainder_size, queries)
    trace = _base_rows(cur, "trace", width, n_positions, log_lde)
    composition = _ext_rows(cur, "composition", 2, n_positions, log_lde)
    fri_layers = _fri_layers(cur, layers, n_positions, folding_factor, log_lde)
    return Proof(
        trace_root=trace_root,
        composition_root=composition_root,
        ood_current=ood_current,
        ood_next=ood_next,
        ood_composition=ood_composition,
        fri_roots=fri_roots,
        remainder=remainder,
        nonce=nonce,
        trace=trace,
        composition=composition,
        fri_layers=fri_layers,
    )


@dataclass(frozen=True)
class MachineProof:
    """The proof part of a format-3 receipt (protocol.md 16)."""

    main_root: bytes
    aux_root: bytes
    composition_root: bytes
    ood_main: list[Ext]  # t_j(z), j < 56
    ood_main_next: list[Ext]  # t_j(z·ω_T)
    ood_aux: list[Ext]  # a_j(z), j < 10
    ood_aux_next: list[Ext]  # a_j(z·ω_T)
    ood_composition: list[Ext]  # C_0(z), C_1(z), C_2(z)
    fri_roots: list[bytes]
    remainder: list[Ext]
    nonce: int
    main: TraceOpening  # |P| rows of 56 base-field values
    aux: Opening  # |P| rows of 10 K values
    composition: Opening  # |P| rows of (C_0(x), C_1(x), C_2(x))
    fri_layers: list[Opening]


def decode_machine(
    data: bytes,
    *,
    width: int,
    aux_width: int,
    segments: int,
    log_trace_length: int,
    log_blowup: int,
    queries: int,
    folding_factor: int,
    layers: int,
    remainder_size: int,
) -> MachineProof:
    """Parse a format-3 receipt's proof bytes with the sizes the statement implies.

    :raises ProofFormatError: as :func:`decode`.
    """
    cur = _Cursor(data)
    log_lde = log_trace_length + log_blowup
    main_root = cur.take(32, "the main root")
    aux_root = cur.take(32, "the auxiliary root")
    composition_root = cur.take(32, "the composition root")
    ood_main = [cur.ext("the OOD frame") for _ in range(width)]
    ood_main_next = [cur.ext("the OOD frame") for _ in range(width)]
    ood_aux = [cur.ext("the OOD frame") for _ in range(aux_width)]
    ood_aux_next = [cur.ext("the OOD frame") for _ in range(aux_width)]
    ood_composition = [cur.ext("the OOD frame") for _ in range(segments)]
    fri_roots, remainder, nonce, n_positions = _fri_head(cur, layers, remainder_size, queries)
    main = _base_rows(cur, "main", width, n_positions, log_lde)
    aux = _ext_rows(cur, "aux", aux_width, n_positions, log_lde)
    composition = _ext_rows(cur, "composition", segments, n_positions, log_lde)
    fri_layers = _fri_layers(cur, layers, n_positions, folding_factor, log_lde)
    return MachineProof(
        main_root=main_root,
        aux_root=aux_root,
        composition_root=composition_root,
        ood_main=ood_main,
        ood_main_next=ood_main_next,
        ood_aux=ood_aux,
        ood_aux_next=ood_aux_next,
        ood_composition=ood_composition,
        fri_roots=fri_roots,
        remainder=remainder,
        nonce=nonce,
        main=main,
        aux=aux,
        composition=composition,
        fri_layers=fri_layers,
    )


def _fri_layers(
    cur: _Cursor, layers: int, n_positions: int, folding_factor: int, log_lde: int
) -> list[Opening]:
    """The FRI layers' openings, the last part of both proof layouts; nothing may follow."""
    fri_layers = []
    log_leaves = log_lde - folding_factor.bit_length() + 1
    for layer in range(layers):
        opened = cur.uint(2, f"FRI layer {layer}")
        if not 1 <= opened <= n_positions:
            raise ProofFormatError(
                f"FRI layer {layer} opens {opened} leaves, expected 1..{n_positions}"
            )
        leaves = [
            [cur.ext(f"FRI layer {layer}") for _ in range(folding_factor)] for _ in range(opened)
        ]
        proof = cur.digests(f"the multiproof of FRI layer {layer}", opened * log_leaves)
        fri_layers.append(Opening(leaves, proof))
        log_leaves -= folding_factor.bit_length() - 1
    if cur.pos != len(cur.data):
        raise ProofFormatError(f"{len(cur.data) - cur.pos} trailing bytes after the proof")
    return fri_layers


def _fri_head(
    cur: _Cursor, layers: int, remainder_size: int, queries: int
) -> tuple[list[bytes], list[Ext], int, int]:
    """The part of both proof layouts between the OOD frame and the opened rows: the FRI
    layer roots, the remainder, the nonce and the number of opened positions."""
    n_layers = cur.uint(1, "the FRI layer count")
    if n_layers != layers:
        raise ProofFormatError(f"{n_layers} FRI layers, the statement implies {layers}")
    fri_roots = [cur.take(32, "the FRI roots") for _ in range(layers)]
    d = cur.uint(2, "the remainder size")
    if d != remainder_size:
        raise ProofFormatError(
            f"remainder of {d} coefficients, the statement implies {remainder_size}"
        )
    remainder = [cur.ext("the remainder") for _ in range(remainder_size)]
    nonce = cur.uint(8, "the nonce")
    n_positions = cur.uint(2, "the position count")
    if not 1 <= n_positions <= queries:
        raise ProofFormatError(f"{n_positions} opened positions, expected 1..{queries}")
    return fri_roots, remainder, nonce, n_positions


def _base_rows(cur: _Cursor, name: str, width: int, n_positions: int, log_lde: int) -> TraceOpening:
    """``n_positions`` opened rows of ``width`` base-field values, then their multiproof."""
    rows = [[cur.base(f"the {name} rows") for _ in range(width)] for _ in range(n_positions)]
    return TraceOpening(rows, cur.digests(f"the {name} multiproof", n_positions * log_lde))


def _ext_rows(cur: _Cursor, name: str, width: int, n_positions: int, log_lde: int) -> Opening:
    """``n_positions`` opened rows of ``width`` K values, then their multiproof."""
    rows = [[cur.ext(f"the {name} rows") for _ in range(width)] for _ in range(n_positions)]
    return Opening(rows, cur.digests(f"the {name} multiproof", n_positions * log_lde))
