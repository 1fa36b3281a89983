# cython: language_level=3
"""NTT, SHA-256 and Merkle trees from Python (``zkactors._native.primitives``).

These bindings exist for tests, benchmarks and Python-level tools; the native prover and
verifier call the C functions directly. Field elements travel as buffers of uint64 —
``array('Q')``, a memoryview, or ``bytes`` read as little-endian 8-byte words — never
as numpy arrays. Every argument is checked here before C sees it (lengths, powers of
two, canonical elements, index ranges), and the GIL is released around every call that
touches more than a handful of elements.

Validation errors are ``ValueError`` (bad value) or ``TypeError`` (not a buffer / not an
int). ``merkle_verify`` never raises on malformed proof data: anything that is not
exactly a valid opening is a rejection, ``False``.
"""

from cpython cimport array
from libc.stdint cimport uint8_t, uint64_t
from libc.stdlib cimport free, malloc, calloc
from libc.string cimport memcpy

import array as _array

cdef extern from "field.h":
    ctypedef uint64_t fe
    ctypedef struct fe3:
        fe c0
        fe c1
        fe c2
    fe ZK_P

cdef extern from "ntt.h":
    int zk_ntt_threaded(fe *values, unsigned log_n, unsigned threads) nogil
    int zk_intt_threaded(fe *values, unsigned log_n, unsigned threads) nogil
    int zk_coset_ntt_threaded(fe *values, unsigned log_n, fe offset, unsigned threads) nogil
    int zk_coset_intt_threaded(fe *values, unsigned log_n, fe offset, unsigned threads) nogil
    int zk_lde(const fe *const *inp, fe *const *out, size_t n_cols, unsigned log_t,
               unsigned log_blowup, fe offset, unsigned threads) nogil
    fe3 zk_eval_base_poly_at_ext(const fe *coeffs, size_t n, fe3 x) nogil
    fe3 zk_eval_ext_poly_at_ext(const fe3 *coeffs, size_t n, fe3 x) nogil
    void zk_batch_inverse(const fe *values, fe *out, size_t n) nogil
    void zk_batch_inverse_ext(const fe3 *values, fe3 *out, size_t n) nogil
    int zk_ntt_has_avx512() nogil
    int zk_ntt_force_scalar(int force) nogil

cdef extern from "hash.h":
    void zk_sha256(const void *data, size_t length, uint8_t *out) nogil
    void zk_sha256_prefixed(uint8_t prefix, const void *data, size_t length, uint8_t *out) nogil
    void zk_sha256_many(const void *data, size_t length, size_t stride, size_t count,
                        uint8_t *out) nogil
    int zk_sha256_has_shani() nogil
    int zk_sha256_force_portable(int force) nogil
    int zk_sha256_has_multibuffer() nogil
    int zk_sha256_force_no_multibuffer(int force) nogil

cdef extern from "merkle.h":
    ctypedef struct zk_digest:
        uint8_t b[32]
    void zk_hash_rows_from_columns(const fe *const *cols, size_t n_cols, size_t n_rows,
                                   zk_digest *out, unsigned threads) nogil
    void zk_hash_rows(const fe *elems, size_t row_len, size_t n_rows, zk_digest *out,
                      unsigned threads) nogil
    void zk_merkle_build(zk_digest *nodes, size_t n_leaves, unsigned threads) nogil
    size_t zk_merkle_multiproof(const zk_digest *nodes, size_t n_leaves, const size_t *indices,
                                size_t k, zk_digest *proof) nogil
    int zk_merkle_verify(const zk_digest *root, size_t n_leaves, const size_t *indices,
                         const zk_digest *leaves, size_t k, const zk_digest *proof,
                         size_t proof_count) nogil

P = ZK_P
MAX_THREADS = 256
MAX_LOG_N = 32

cdef array.array _U64 = _array.array("Q")


# ---- argument checking -----------------------------------------------------------------

cdef object _u64_view(object obj, bint writable, str what):
    """A 1-D C-contiguous memoryview of uint64 over obj's memory (no copy)."""
    try:
        view = memoryview(obj)
    except TypeError:
        raise TypeError(
            f"{what} must be a buffer of uint64 (array('Q'), memoryview or bytes), "
            f"not {type(obj).__name__}"
        ) from None
    if writable and view.readonly:
        raise TypeError(f"{what} must be writable (e.g. array('Q')); got a read-only buffer")
    if not view.c_contiguous:
        raise ValueError(f"{what} must be C-contiguous")
    if view.format == "Q" and view.ndim == 1:
        return view
    if view.nbytes % 8:
        raise ValueError(f"{what} has {view.nbytes} bytes, not a whole number of 8-byte elements")
    return view.cast("B").cast("Q")


cdef object _byte_view(object obj, str what):
    try:
        view = memoryview(obj)
    except TypeError:
        raise TypeError(f"{what} must be a bytes-like object, not {type(obj).__name__}") from None
    if not view.c_contiguous:
        raise ValueError(f"{what} must be C-contiguous")
    return view.cast("B") if (view.format != "B" or view.ndim != 1) else view


cdef size_t _first_noncanonical(const fe *values, size_t n) noexcept nogil:
    cdef size_t i
    for i in range(n):
        if values[i] >= ZK_P:
            return i
    return n


cdef int _check_canonical(const fe[::1] values, str what) except -1:
    cdef size_t n = values.shape[0], bad
    if n == 0:
        return 0
    with nogil:
        bad = _first_noncanonical(&values[0], n)
    if bad != n:
        raise ValueError(
            f"{what}[{bad}] = {values[bad]} is not a canonical field element (must be < p)"
        )
    return 0


cdef unsigned _log2_exact(size_t n, str what) except? 99:
    if n == 0 or (n & (n - 1)) != 0:
        raise ValueError(f"{what} must be a power of two, got {n}")
    cdef unsigned k = 0
    while (<size_t>1 << k) < n:
        k += 1
    if k > MAX_LOG_N:
        raise ValueError(f"{what} = 2^{k} is larger than the field's 2^32-element subgroup")
    return k


cdef unsigned _threads(object threads) except 0:
    if not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        raise ValueError(f"threads must be an int in [1, {MAX_THREADS}], got {threads!r}")
    return <unsigned>threads


cdef fe _element(object value, str what) except? 0:
    if not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value < ZK_P:
        raise ValueError(f"{what} = {value} is not a canonical field element (must be in [0, p))")
    return <fe>value


cdef fe3 _ext_element(object value, str what) except *:
    cdef fe3 r
    try:
        c0, c1, c2 = value
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a (c0, c1, c2) triple of ints, not {value!r}") from None
    r.c0 = _element(c0, what + ".c0")
    r.c1 = _element(c1, what + ".c1")
    r.c2 = _element(c2, what + ".c2")
    return r


cdef array.array _new_u64(size_t n):
    return array.clone(_U64, n, False)


# ---- NTT -------------------------------------------------------------------------------

cdef int _transform(object values, int kind, object offset, object threads) except -1:
    view = _u64_view(values, True, "values")
    cdef fe[::1] v = view
    cdef size_t n = v.shape[0]
    cdef unsigned log_n = _log2_exact(n, "len(values)")
    cdef unsigned t = _threads(threads)
    cdef fe c = 1
    cdef int rc = 0
    if kind >= 2:
        c = _element(offset, "offset")
        if c == 0:
            raise ValueError("offset must be nonzero: a coset of 0 is not a coset")
    _check_canonical(v, "values")
    with nogil:
        if kind == 0:
            rc = zk_ntt_threaded(&v[0], log_n, t)
        elif kind == 1:
            rc = zk_intt_threaded(&v[0], log_n, t)
        elif kind == 2:
            rc = zk_coset_ntt_threaded(&v[0], log_n, c, t)
        else:
            rc = zk_coset_intt_threaded(&v[0], log_n, c, t)
    if rc != 0:
        raise MemoryError("no memory for the NTT twiddle tables")
    return 0


def ntt(values, *, threads=1):
    """In place: coefficients -> evaluations at w^i (w the primitive len-th root)."""
    _transform(values, 0, None, threads)


def intt(values, *, threads=1):
    """In place: evaluations at w^i -> coefficients."""
    _transform(values, 1, None, threads)


def coset_ntt(values, offset, *, threads=1):
    """In place: coefficients -> evaluations at offset * w^i."""
    _transform(values, 2, offset, threads)


def coset_intt(values, offset, *, threads=1):
    """In place: evaluations at offset * w^i -> coefficients."""
    _transform(values, 3, offset, threads)


def lde(columns, unsigned log_blowup, offset=7, *, threads=1):
    """Evaluations of each column (given on <w_T>, T a power of two) on the coset
    offset * <w_N>, N = T * 2^log_blowup, in natural order: a list of array('Q')."""
    cdef list views = [_u64_view(col, False, f"columns[{i}]") for i, col in enumerate(columns)]
    cdef size_t n_cols = len(views), i
    if n_cols == 0:
        return []
    cdef const fe[::1] v
    cdef size_t t_len = len(views[0])
    for i in range(n_cols):
        if len(views[i]) != t_len:
            raise ValueError(
                f"columns have different lengths: {t_len} and {len(views[i])} (column {i})"
            )
        _check_canonical(views[i], f"columns[{i}]")
    cdef unsigned log_t = _log2_exact(t_len, "column length")
    if log_t + log_blowup > MAX_LOG_N:
        raise ValueError(f"T * blowup = 2^{log_t + log_blowup} exceeds 2^32")
    cdef fe c = _element(offset, "offset")
    if c == 0:
        raise ValueError("offset must be nonzero")
    cdef unsigned t = _threads(threads)
    cdef size_t n_out = t_len << log_blowup
    cdef list outs = [_new_u64(n_out) for _ in range(n_cols)]
    cdef const fe **inp = <const fe **>malloc(n_cols * sizeof(fe *))
    cdef fe **outp = <fe **>malloc(n_cols * sizeof(fe *))
    cdef array.array o
    cdef int rc
    try:
        if inp == NULL or outp == NULL:
            raise MemoryError()
        for i in range(n_cols):
            v = views[i]
            inp[i] = &v[0]
            o = outs[i]
            outp[i] = <fe *>o.data.as_voidptr
        with nogil:
            rc = zk_lde(inp, <fe *const *>outp, n_cols, log_t, log_blowup, c, t)
        if rc != 0:
            raise MemoryError("no memory for the LDE twiddle tables")
    finally:
        free(inp)
        free(outp)
    return outs


def eval_poly_at_ext(coeffs, x):
    """sum_i coeffs[i] * x^i for base-field coefficients and x = (c0, c1, c2) in K."""
    cdef const fe[::1] c = _u64_view(coeffs, False, "coeffs")
    _check_canonical(c, "coeffs")
    cdef fe3 p = _ext_element(x, "x"), r
    cdef size_t n = c.shape[0]
    r.c0 = 0
    r.c1 = 0
    r.c2 = 0
    if n:
        with nogil:
            r = zk_eval_base_poly_at_ext(&c[0], n, p)
    return (r.c0, r.c1, r.c2)


def eval_ext_poly_at_ext(coeffs, x):
    """The same for coefficients in K, given flat as c0, c1, c2, c0, c1, c2, ..."""
    cdef const fe[::1] c = _u64_view(coeffs, False, "coeffs")
    if c.shape[0] % 3:
        raise ValueError(
            "extension coefficients come in (c0, c1, c2) triples: the length must be a "
            "multiple of 3"
        )
    _check_canonical(c, "coeffs")
    cdef fe3 p = _ext_element(x, "x"), r
    cdef size_t n = c.shape[0] // 3
    r.c0 = 0
    r.c1 = 0
    r.c2 = 0
    if n:
        with nogil:
            r = zk_eval_ext_poly_at_ext(<const fe3 *>&c[0], n, p)
    return (r.c0, r.c1, r.c2)


def batch_inverse(values):
    """array('Q') of 1/values[i], with 0 for a 0 (Montgomery's trick)."""
    cdef const fe[::1] v = _u64_view(values, False, "values")
    _check_canonical(v, "values")
    cdef size_t n = v.shape[0]
    cdef array.array out = _new_u64(n)
    if n:
        with nogil:
            zk_batch_inverse(&v[0], <fe *>out.data.as_voidptr, n)
    return out


def batch_inverse_ext(values):
    """The same in K, elements flat as c0, c1, c2, c0, c1, c2, ...; zero stays zero."""
    cdef const fe[::1] v = _u64_view(values, False, "values")
    if v.shape[0] % 3:
        raise ValueError(
            "extension elements come in (c0, c1, c2) triples: the length must be a "
            "multiple of 3"
        )
    _check_canonical(v, "values")
    cdef size_t n = v.shape[0]
    cdef array.array out = _new_u64(n)
    if n:
        with nogil:
            zk_batch_inverse_ext(<const fe3 *>&v[0], <fe3 *>out.data.as_voidptr, n // 3)
    return out


def ntt_has_avx512():
    """Whether the AVX-512 NTT kernels run on this CPU."""
    return bool(zk_ntt_has_avx512())


def ntt_force_scalar(force):
    """Use (True) or stop forcing (False) the portable NTT kernels; returns the previous
    setting. Process-wide: for tests and benchmarks that compare both paths."""
    return bool(zk_ntt_force_scalar(1 if force else 0))


# ---- SHA-256 ---------------------------------------------------------------------------

cdef bytes _digest(const uint8_t *d):
    return (<char *>d)[:32]


def sha256(data):
    """SHA-256 of a bytes-like object (no prefix)."""
    cdef const uint8_t[::1] v = _byte_view(data, "data")
    cdef uint8_t out[32]
    cdef size_t n = v.shape[0]
    with nogil:
        zk_sha256(&v[0] if n else NULL, n, out)
    return _digest(out)


def sha256_prefixed(prefix, data):
    """H(prefix || data) for a one-byte domain prefix (protocol.md section 2)."""
    if not isinstance(prefix, int) or not 0 <= prefix <= 255:
        raise ValueError(f"prefix must be a byte value in [0, 255], got {prefix!r}")
    cdef const uint8_t[::1] v = _byte_view(data, "data")
    cdef uint8_t out[32]
    cdef uint8_t pre = <uint8_t>prefix
    cdef size_t n = v.shape[0]
    with nogil:
        zk_sha256_prefixed(pre, &v[0] if n else NULL, n, out)
    return _digest(out)


def sha256_many(data, size_t length):
    """Digests of the consecutive `length`-byte messages of data, concatenated (for
    throughput measurements: one call, many hashes)."""
    cdef const uint8_t[::1] v = _byte_view(data, "data")
    cdef size_t n = v.shape[0]
    if length == 0 or n % length:
        raise ValueError(f"len(data) = {n} is not a positive multiple of length = {length}")
    cdef size_t count = n // length
    cdef bytearray out = bytearray(32 * count)
    cdef uint8_t[::1] o = out
    if count:
        with nogil:
            zk_sha256_many(&v[0], length, length, count, &o[0])
    return bytes(out)


def sha256_has_shani():
    """Whether the SHA-NI kernel is in use (False while the portable one is forced)."""
    return bool(zk_sha256_has_shani())


def sha256_force_portable(force):
    """Use (True) or stop forcing (False) the portable kernel; returns the previous
    setting. Process-wide: for tests and benchmarks that compare both paths."""
    return bool(zk_sha256_force_portable(1 if force else 0))


def sha256_has_multibuffer():
    """Whether many-message hashing (leaves, tree levels, sha256_many) runs 16 messages
    at a time with AVX-512 (False while switched off or the portable kernel is forced)."""
    return bool(zk_sha256_has_multibuffer())


def sha256_force_no_multibuffer(force):
    """Switch the 16-lane kernel off (True) or back on (False); returns the previous
    setting. Process-wide: for tests and benchmarks that compare paths."""
    return bool(zk_sha256_force_no_multibuffer(1 if force else 0))


# ---- Merkle leaves and trees -----------------------------------------------------------

cdef size_t _rows_of(const fe[::1] elems, object row_len) except? 0:
    if not isinstance(row_len, int) or row_len < 1:
        raise ValueError(f"row_len must be a positive int, got {row_len!r}")
    if elems.shape[0] % row_len:
        raise ValueError(f"{elems.shape[0]} elements do not split into rows of {row_len}")
    return elems.shape[0] // row_len


def hash_rows_into(elems, row_len, out, *, threads=1):
    """Leaf digests of the contiguous rows of `elems` (row_len elements each) written to
    the writable buffer `out` (32 bytes per row), without the GIL."""
    cdef const fe[::1] e = _u64_view(elems, False, "elems")
    cdef size_t n_rows = _rows_of(e, row_len)
    cdef unsigned t = _threads(threads)
    try:
        out_view = memoryview(out)
    except TypeError:
        raise TypeError(f"out must be a writable buffer, not {type(out).__name__}") from None
    if out_view.readonly or not out_view.c_contiguous:
        raise TypeError("out must be a writable, C-contiguous buffer")
    cdef uint8_t[::1] o = out_view.cast("B") if out_view.format != "B" else out_view
    if <size_t>o.shape[0] != 32 * n_rows:
        raise ValueError(f"out has {o.shape[0]} bytes; {n_rows} rows need {32 * n_rows}")
    _check_canonical(e, "elems")
    cdef size_t rl = row_len
    if n_rows:
        with nogil:
            zk_hash_rows(&e[0], rl, n_rows, <zk_digest *>&o[0], t)


def hash_rows(elems, row_len, *, threads=1):
    """Leaf digests H(0x00 || LE64 row) of the contiguous rows of `elems`, as bytes."""
    e = _u64_view(elems, False, "elems")
    n_rows = _rows_of(e, row_len)
    out = bytearray(32 * n_rows)
    hash_rows_into(e, row_len, out, threads=threads)
    return bytes(out)


cdef int _column_pointers(list views, size_t n_rows, const fe **ptrs) except -1:
    cdef const fe[::1] v
    cdef size_t i
    for i in range(len(views)):
        v = views[i]
        if <size_t>v.shape[0] != n_rows:
            raise ValueError(f"columns have different lengths: {n_rows} and {v.shape[0]} (column {i})")
        _check_canonical(v, f"columns[{i}]")
        ptrs[i] = &v[0] if n_rows else NULL
    return 0


def hash_columns(columns, *, threads=1):
    """Leaf digests of the rows formed by `columns` (leaf i = H(0x00 || LE64 of
    columns[0][i], columns[1][i], ...)), as bytes."""
    cdef list views = [_u64_view(col, False, f"columns[{i}]") for i, col in enumerate(columns)]
    if not views:
        raise ValueError("at least one column is needed to know how many rows there are")
    cdef size_t n_cols = len(views), n_rows = len(views[0])
    cdef unsigned t = _threads(threads)
    cdef bytearray out = bytearray(32 * n_rows)
    cdef uint8_t[::1] o = out
    cdef const fe **ptrs = <const fe **>malloc(n_cols * sizeof(fe *))
    if ptrs == NULL:
        raise MemoryError()
    try:
        _column_pointers(views, n_rows, ptrs)
        if n_rows:
            with nogil:
                zk_hash_rows_from_columns(ptrs, n_cols, n_rows, <zk_digest *>&o[0], t)
    finally:
        free(ptrs)
    return bytes(out)


cdef size_t *_indices_array(object indices, size_t n_leaves, bint strict, size_t *k_out) except? NULL:
    """A malloc'd size_t copy of indices. strict: raise on unsorted/duplicate/out of range
    (for openings); otherwise return NULL with k_out = 0 to signal a rejection."""
    cdef list items = list(indices)
    cdef size_t k = len(items), j
    cdef size_t *out
    k_out[0] = 0
    for j in range(k):
        if not isinstance(items[j], int):
            raise TypeError(f"indices[{j}] must be an int, not {type(items[j]).__name__}")
    if k == 0 or any(not 0 <= i < n_leaves for i in items) or any(
        items[j] >= items[j + 1] for j in range(k - 1)
    ):
        if strict:
            raise ValueError(
                f"indices must be a non-empty, strictly ascending list of leaf indices in "
                f"[0, {n_leaves}); sort them and remove duplicates first"
            )
        return NULL
    out = <size_t *>malloc(k * sizeof(size_t))
    if out == NULL:
        raise MemoryError()
    for j in range(k):
        out[j] = items[j]
    k_out[0] = k
    return out


cdef class MerkleTree:
    """A Merkle tree of protocol.md section 3: nodes[2n], root = nodes[1].

    Build it with ``from_rows``, ``from_columns`` or ``from_leaves``; open leaves with
    ``multiproof``. The nodes live in C memory owned by this object.
    """

    cdef zk_digest *_nodes
    cdef size_t _n

    def __cinit__(self):
        self._nodes = NULL
        self._n = 0

    def __dealloc__(self):
        free(self._nodes)

    @staticmethod
    cdef MerkleTree _empty(size_t n_leaves):
        _log2_exact(n_leaves, "the number of leaves")
        cdef MerkleTree tree = MerkleTree.__new__(MerkleTree)
        tree._nodes = <zk_digest *>calloc(2 * n_leaves, sizeof(zk_digest))
        if tree._nodes == NULL:
            raise MemoryError(f"no memory for a tree of {n_leaves} leaves")
        tree._n = n_leaves
        return tree

    cdef void _build(self, unsigned threads) noexcept nogil:
        zk_merkle_build(self._nodes, self._n, threads)

    @staticmethod
    def from_leaves(leaf_digests, *, threads=1):
        """A tree over already-hashed leaves (32 bytes each, a power of two of them)."""
        cdef const uint8_t[::1] d = _byte_view(leaf_digests, "leaf_digests")
        if d.shape[0] % 32:
            raise ValueError(f"leaf_digests has {d.shape[0]} bytes, not a multiple of 32")
        cdef unsigned t = _threads(threads)
        cdef MerkleTree tree = MerkleTree._empty(d.shape[0] // 32)
        memcpy(&tree._nodes[tree._n], &d[0], 32 * tree._n)
        with nogil:
            tree._build(t)
        return tree

    @staticmethod
    def from_rows(elems, row_len, *, threads=1):
        """A tree whose leaf i is row i of `elems` (row_len elements per row)."""
        cdef const fe[::1] e = _u64_view(elems, False, "elems")
        cdef size_t n_rows = _rows_of(e, row_len)
        cdef unsigned t = _threads(threads)
        _check_canonical(e, "elems")
        cdef MerkleTree tree = MerkleTree._empty(n_rows)
        cdef size_t rl = row_len
        with nogil:
            zk_hash_rows(&e[0], rl, n_rows, &tree._nodes[n_rows], t)
            tree._build(t)
        return tree

    @staticmethod
    def from_columns(columns, *, threads=1):
        """A tree whose leaf i is (columns[0][i], columns[1][i], ...)."""
        cdef list views = [_u64_view(col, False, f"columns[{i}]") for i, col in enumerate(columns)]
        if not views:
            raise ValueError("at least one column is needed to know how many rows there are")
        cdef size_t n_cols = len(views), n_rows = len(views[0])
        cdef unsigned t = _threads(threads)
        cdef MerkleTree tree = MerkleTree._empty(n_rows)
        cdef const fe **ptrs = <const fe **>malloc(n_cols * sizeof(fe *))
        if ptrs == NULL:
            raise MemoryError()
        try:
            _column_pointers(views, n_rows, ptrs)
            with nogil:
                zk_hash_rows_from_columns(ptrs, n_cols, n_rows, &tree._nodes[n_rows], t)
                tree._build(t)
        finally:
            free(ptrs)
        return tree

    @property
    def n_leaves(self):
        return self._n

    @property
    def root(self):
        return _digest(self._nodes[1].b)

    def leaf(self, i):
        """The digest of leaf i."""
        if not isinstance(i, int) or not 0 <= i < self._n:
            raise ValueError(f"leaf index must be in [0, {self._n}), got {i!r}")
        return _digest(self._nodes[self._n + <size_t>i].b)

    def nodes(self):
        """All 2n node digests as bytes (node k at [32k, 32k + 32); node 0 is unused)."""
        return (<char *>self._nodes)[: 64 * self._n]

    def multiproof(self, indices):
        """The batched opening of the sorted, distinct leaf indices: the sibling digests
        in protocol.md section 3 order, concatenated."""
        cdef size_t k = 0, count = 0, log_n = _log2_exact(self._n, "n_leaves")
        cdef size_t *idx = _indices_array(indices, self._n, True, &k)
        cdef zk_digest *proof = <zk_digest *>malloc((k * log_n + 1) * sizeof(zk_digest))
        try:
            if proof == NULL:
                raise MemoryError()
            with nogil:
                count = zk_merkle_multiproof(self._nodes, self._n, idx, k, proof)
            return (<char *>proof)[: 32 * count]
        finally:
            free(idx)
            free(proof)


def merkle_verify(root, n_leaves, indices, leaves, proof):
    """True iff the leaf digests at `indices` (sorted, distinct, < n_leaves) and the
    multiproof `proof` (32-byte digests, consumed exactly) hash up to `root`.

    Malformed data — wrong lengths, unsorted, duplicate or out-of-range indices, a proof
    not a whole number of digests — is a rejection (False), never an exception.
    """
    cdef const uint8_t[::1] r = _byte_view(root, "root")
    cdef const uint8_t[::1] lv = _byte_view(leaves, "leaves")
    cdef const uint8_t[::1] pv = _byte_view(proof, "proof")
    if not isinstance(n_leaves, int) or n_leaves < 1 or (n_leaves & (n_leaves - 1)):
        return False
    if r.shape[0] != 32 or pv.shape[0] % 32:
        return False
    cdef size_t k = 0, n = n_leaves
    cdef size_t *idx = _indices_array(indices, n, False, &k)
    cdef int ok = 0
    cdef const zk_digest *proof_ptr = <const zk_digest *>&pv[0] if pv.shape[0] else NULL
    cdef size_t proof_count = pv.shape[0] // 32
    if idx == NULL:
        return False
    try:
        if <size_t>lv.shape[0] != 32 * k:
            return False
        with nogil:
            ok = zk_merkle_verify(<const zk_digest *>&r[0], n, idx, <const zk_digest *>&lv[0],
                                  k, proof_ptr, proof_count)
        return ok == 1
    finally:
        free(idx)


# ---- kernel level (ext/cpu.h) ----------------------------------------------------------

include "kernels.pxi"
