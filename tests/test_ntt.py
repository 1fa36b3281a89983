"""NTTs, LDE, batch inversion and polynomial evaluation against Python definitions.

Small sizes are checked against the O(n²) DFT itself; larger ones (up to 2^16) by round
trips and spot evaluations. Every check runs on every butterfly kernel level the CPU has:
portable scalar, AVX2 and AVX-512 (forced in this process through the kernel switch, so a
machine with AVX-512 still tests the AVX2 path).
"""

from __future__ import annotations

import array
import random
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkactors import kernels
from zkactors._native import primitives as prim
from zkactors.field import root_of_unity

P = 2**64 - 2**32 + 1
elements = st.one_of(st.integers(0, P - 1), st.sampled_from([0, 1, P - 1, 2**32, 2**63]))


@pytest.fixture(params=["scalar", "avx2", "avx512"], autouse=True)
def kernel(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param not in kernels.available():
        pytest.skip(f"this CPU has no {request.param}")
    with kernels.forced(str(request.param)) as level:
        assert level == request.param and prim.kernels_in_use() == level
        yield level


def evaluate(coeffs: list[int], x: int) -> int:
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % P
    return acc


def dft(coeffs: list[int], offset: int = 1) -> list[int]:
    n = len(coeffs)
    w = root_of_unity(n.bit_length() - 1)
    return [evaluate(coeffs, offset * pow(w, i, P) % P) for i in range(n)]


def u64(values: list[int]) -> array.array[int]:
    return array.array("Q", values)


def random_values(n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(P) for _ in range(n)]


@given(st.integers(0, 6).flatmap(lambda k: st.lists(elements, min_size=2**k, max_size=2**k)))
def test_ntt_is_the_dft(coeffs: list[int]) -> None:
    values = u64(coeffs)
    prim.ntt(values)
    assert list(values) == dft(coeffs)
    prim.intt(values)
    assert list(values) == coeffs


@given(
    st.integers(0, 6).flatmap(lambda k: st.lists(elements, min_size=2**k, max_size=2**k)),
    st.integers(1, P - 1),
)
def test_coset_ntt_is_evaluation_on_the_coset(coeffs: list[int], offset: int) -> None:
    values = u64(coeffs)
    prim.coset_ntt(values, offset)
    assert list(values) == dft(coeffs, offset)
    prim.coset_intt(values, offset)
    assert list(values) == coeffs


@pytest.mark.parametrize("log_n", [7, 10, 12, 13, 15, 16])
@pytest.mark.parametrize("threads", [1, 2])
def test_large_round_trip_and_spot_values(log_n: int, threads: int) -> None:
    coeffs = random_values(2**log_n, log_n)
    values = u64(coeffs)
    prim.ntt(values, threads=threads)
    w = root_of_unity(log_n)
    for i in [*random.Random(log_n).sample(range(2**log_n), 3), 0, 2**log_n - 1]:
        assert values[i] == evaluate(coeffs, pow(w, i, P))
    prim.intt(values, threads=threads)
    assert list(values) == coeffs


@pytest.mark.parametrize("log_n", [12, 16])
def test_threaded_and_kernel_results_are_identical(log_n: int) -> None:
    coeffs = random_values(2**log_n, 99)
    one, two = u64(coeffs), u64(coeffs)
    prim.coset_ntt(one, 7, threads=1)
    prim.coset_ntt(two, 7, threads=2)
    assert one == two
    for level in kernels.available():
        with kernels.forced(level):
            other = u64(coeffs)
            prim.coset_ntt(other, 7)
            assert other == one, level
            lde = prim.lde([u64(coeffs[:1024]), u64(coeffs[1024:2048])], 3, 7, threads=2)
        with kernels.forced("scalar"):
            assert lde == prim.lde([u64(coeffs[:1024]), u64(coeffs[1024:2048])], 3, 7)


@pytest.mark.parametrize(("log_t", "log_blowup"), [(0, 0), (0, 3), (1, 1), (3, 0), (3, 2), (5, 3)])
def test_lde_is_evaluation_on_the_coset(log_t: int, log_blowup: int) -> None:
    columns = [random_values(2**log_t, 10 * log_t + c) for c in range(3)]
    out = prim.lde([u64(c) for c in columns], log_blowup, 7)
    n = 2 ** (log_t + log_blowup)
    w_n = root_of_unity(log_t + log_blowup)
    for column, extended in zip(columns, out, strict=True):
        coeffs = u64(column)
        prim.intt(coeffs)
        assert len(extended) == n
        assert list(extended) == [evaluate(list(coeffs), 7 * pow(w_n, i, P) % P) for i in range(n)]


@pytest.mark.parametrize(("n_cols", "log_t"), [(1, 16), (3, 10), (5, 6)])
def test_lde_threads_agree(n_cols: int, log_t: int) -> None:
    columns = [u64(random_values(2**log_t, c)) for c in range(n_cols)]
    one = prim.lde(columns, 2, 7, threads=1)
    two = prim.lde(columns, 2, 7, threads=2)
    three = prim.lde(columns, 2, 7, threads=3)
    assert one == two == three
    # spot-check against the coset NTT of the zero-padded coefficients
    coeffs = u64(list(columns[0]))
    prim.intt(coeffs)
    padded = u64(list(coeffs) + [0] * (3 * 2**log_t))
    prim.coset_ntt(padded, 7)
    assert padded == one[0]


def test_lde_of_no_columns() -> None:
    assert prim.lde([], 3) == []


@given(st.lists(st.one_of(st.just(0), elements), max_size=300))
def test_batch_inverse_keeps_zeros(values: list[int]) -> None:
    out = prim.batch_inverse(u64(values))
    assert list(out) == [pow(v, P - 2, P) if v else 0 for v in values]


def test_batch_inverse_spans_chunks() -> None:
    values = random_values(5000, 5)
    values[0] = values[2047] = values[2048] = values[4999] = 0
    out = prim.batch_inverse(u64(values))
    assert list(out) == [pow(v, P - 2, P) if v else 0 for v in values]


Ext = tuple[int, int, int]
ext_elements = st.tuples(elements, elements, elements)


def ext_mul(a: Ext, b: Ext) -> Ext:
    """The product in K = F[X]/(X^3 - 7)."""
    return (
        (a[0] * b[0] + 7 * (a[1] * b[2] + a[2] * b[1])) % P,
        (a[0] * b[1] + a[1] * b[0] + 7 * a[2] * b[2]) % P,
        (a[0] * b[2] + a[1] * b[1] + a[2] * b[0]) % P,
    )


def ext_inv(a: Ext) -> Ext:
    """a^(p^3 - 2): the multiplicative group of K has order p^3 - 1."""
    result, base, e = (1, 0, 0), a, P**3 - 2
    while e:
        if e & 1:
            result = ext_mul(result, base)
        base = ext_mul(base, base)
        e >>= 1
    return result


@given(st.lists(ext_elements, max_size=100))
def test_batch_inverse_ext(values: list[Ext]) -> None:
    values = [*values, (0, 0, 0), (0, 5, 0), (3, 0, 0), (0, 0, 9)]
    flat = u64([c for v in values for c in v])
    out = prim.batch_inverse_ext(flat)
    triples = list(zip(out[::3], out[1::3], out[2::3], strict=True))
    for v, inverse in zip(values, triples, strict=True):
        assert inverse == ((0, 0, 0) if v == (0, 0, 0) else ext_inv(v))
        if v != (0, 0, 0):
            assert ext_mul(v, inverse) == (1, 0, 0)


@given(st.lists(elements, max_size=40), ext_elements)
def test_eval_base_poly_at_ext(coeffs: list[int], x: Ext) -> None:
    acc = (0, 0, 0)
    for c in reversed(coeffs):
        acc = ext_mul(acc, x)
        acc = ((acc[0] + c) % P, acc[1], acc[2])
    assert prim.eval_poly_at_ext(u64(coeffs), x) == acc


@given(st.lists(ext_elements, max_size=40), ext_elements)
def test_eval_ext_poly_at_ext(coeffs: list[Ext], x: Ext) -> None:
    acc = (0, 0, 0)
    for c in reversed(coeffs):
        acc = ext_mul(acc, x)
        acc = ((acc[0] + c[0]) % P, (acc[1] + c[1]) % P, (acc[2] + c[2]) % P)
    flat = u64([v for c in coeffs for v in c])
    assert prim.eval_ext_poly_at_ext(flat, x) == acc


def test_bytes_are_read_as_le64() -> None:
    coeffs = random_values(8, 3)
    data = b"".join(c.to_bytes(8, "little") for c in coeffs)
    assert prim.eval_poly_at_ext(data, (5, 0, 0)) == (evaluate(coeffs, 5), 0, 0)


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="power of two"):
        prim.ntt(u64([1, 2, 3]))
    with pytest.raises(ValueError, match="power of two"):
        prim.ntt(u64([]))
    with pytest.raises(ValueError, match="canonical"):
        prim.ntt(u64([0, P]))
    with pytest.raises(TypeError, match="writable"):
        prim.ntt(bytes(16))
    with pytest.raises(ValueError, match="nonzero"):
        prim.coset_ntt(u64([1, 2]), 0)
    with pytest.raises(ValueError, match="threads"):
        prim.ntt(u64([1, 2]), threads=0)
    with pytest.raises(ValueError, match="different lengths"):
        prim.lde([u64([1, 2]), u64([1, 2, 3, 4])], 1)
    with pytest.raises(ValueError, match="8-byte"):
        prim.batch_inverse(bytes(7))
    with pytest.raises(ValueError, match="triples"):
        prim.batch_inverse_ext(u64([1, 2, 3, 4]))
    with pytest.raises(TypeError):
        prim.ntt([1, 2])  # type: ignore[arg-type]


def test_concurrent_transforms_agree() -> None:
    """Transforms racing on other threads (and on the twiddle cache) give the same results
    as one at a time."""
    import threading

    sizes = [9, 11, 13, 17, 11, 9]
    inputs = [random_values(2**k, 1000 + k) for k in sizes]
    expected = []
    for values in inputs:
        out = u64(values)
        prim.coset_ntt(out, 7)
        expected.append(out)
    results: list[array.array[int] | None] = [None] * len(sizes)
    barrier = threading.Barrier(len(sizes))

    def work(i: int) -> None:
        out = u64(inputs[i])
        barrier.wait()
        prim.coset_ntt(out, 7)
        results[i] = out

    workers = [threading.Thread(target=work, args=(i,)) for i in range(len(sizes))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert results == expected
