"""FRI (protocol.md 8.5): the proof that the DEEP polynomial has degree below T.

The prover commits to a function on D (layer 0) and repeatedly *folds* it: writing
``P(x) = Σ_{k<f} x^k·P_k(x^f)``, the folded function is ``Σ_k β^k·P_k(y)`` on the domain
``{x^f}``, f times smaller, with a random β from the transcript. Folding divides the degree
bound by f and keeps a far-from-low-degree function far from low degree (with high
probability over β). When the bound is at most the profile's maximum remainder size the
prover sends the last polynomial in the clear. The verifier spot-checks each fold at the
query positions: from the f values of ``P`` on a coset ``{x·ζ^j}`` (ζ a primitive f-th
root of unity) it recovers ``P_k(x^f)`` by an inverse DFT of size f,

    x^k·P_k(x^f) = (1/f)·Σ_j P(x·ζ^j)·ζ^(−jk),

and so the folded value at ``x^f``.

Layout: layer l has ``n_l = N / f^l`` points; index i is the point ``c^(f^l)·ω_{n_l}^i``.
Its Merkle leaf ``i`` (of ``n_l / f``) holds the values at indices ``i + j·n_l/f``,
``j < f``, which are exactly the coset ``{x_i·ζ^j}`` (since ``ω_{n_l}^(n_l/f) = ζ``), so one
leaf opening gives everything one fold needs; the folded value lands at index ``i`` of
layer l+1, whose point is ``x_i^f``.
"""

from __future__ import annotations

from collections.abc import Sequence

from zkactors.zkvm.reference.field import GENERATOR, Ext, P, inv, root_of_unity


def shape(trace_length: int, folding_factor: int, max_remainder_size: int) -> tuple[int, int]:
    """``(L, d_L)``: fold while the degree bound ``d_l`` (``d_0 = T``) exceeds the maximum
    remainder size; each fold divides it by f."""
    layers, degree = 0, trace_length
    while degree > max_remainder_size:
        degree //= folding_factor
        layers += 1
    return layers, degree


def layer_point(layer: int, layer_size: int, index: int, folding_factor: int) -> int:
    """The point of ``index`` in layer ``layer``: ``c^(f^layer)·ω_{n_l}^index``."""
    offset = pow(GENERATOR, folding_factor**layer, P)
    return offset * pow(root_of_unity(layer_size), index, P) % P


def fold(coset_values: Sequence[Ext], beta: Ext, x: int) -> Ext:
    """The folded value at ``x^f`` from the values ``P(x·ζ^j)``, ``j < f`` (in that order):
    ``Σ_k β^k·x^(−k)·(1/f)·Σ_j P(x·ζ^j)·ζ^(−jk)``."""
    f = len(coset_values)
    zeta_inv = inv(root_of_unity(f))
    f_inv = inv(f)
    step = beta * inv(x)  # β·x^(−1)
    result, power = Ext(0), Ext(1)
    for k in range(f):
        coefficient = Ext(0)
        for j, value in enumerate(coset_values):
            coefficient = coefficient + value * pow(zeta_inv, j * k, P)
        result = result + power * coefficient
        power = power * step
    return result * f_inv


def evaluate(coefficients: Sequence[Ext], point: int) -> Ext:
    """The remainder polynomial ``Σ_k coefficients[k]·point^k`` (Horner's rule)."""
    value = Ext(0)
    for coefficient in reversed(coefficients):
        value = value * point + coefficient
    return value
