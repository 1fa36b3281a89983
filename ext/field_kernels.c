/* Bulk field kernels over arrays; each runs without touching Python objects, so callers
 * release the GIL around them. */
#include "field_kernels.h"

void zk_powers(fe base, fe *out, size_t n) {
    fe acc = 1;
    for (size_t i = 0; i < n; i++) {
        out[i] = acc;
        acc = f_mul(acc, base);
    }
}

void zk_scale_by_powers(fe *values, size_t n, fe start, fe base) {
    fe acc = start;
    for (size_t i = 0; i < n; i++) {
        values[i] = f_mul(values[i], acc);
        acc = f_mul(acc, base);
    }
}

void zk_vec_add(const fe *a, const fe *b, fe *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = f_add(a[i], b[i]);
}

void zk_vec_sub(const fe *a, const fe *b, fe *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = f_sub(a[i], b[i]);
}

void zk_vec_mul(const fe *a, const fe *b, fe *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = f_mul(a[i], b[i]);
}

void zk_vec_scale(const fe *a, fe s, fe *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = f_mul(a[i], s);
}

void zk_vec_mul_ext(const fe3 *a, const fe3 *b, fe3 *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = e_mul(a[i], b[i]);
}

void zk_vec_mul_ext_base(const fe3 *a, const fe *b, fe3 *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = e_mul_base(a[i], b[i]);
}
