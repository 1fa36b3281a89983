/* Bulk kernels over arrays of canonical field elements. None touches Python objects,
 * so callers release the GIL around them. out may alias an input in every kernel. */
#ifndef ZK_FIELD_KERNELS_H
#define ZK_FIELD_KERNELS_H
#include "field.h"

/* out[i] = base^i for i < n. */
void zk_powers(fe base, fe *out, size_t n);
/* values[i] *= start * base^i: the coset shift of a coefficient vector. */
void zk_scale_by_powers(fe *values, size_t n, fe start, fe base);
/* Elementwise out[i] = a[i] op b[i]. */
void zk_vec_add(const fe *a, const fe *b, fe *out, size_t n);
void zk_vec_sub(const fe *a, const fe *b, fe *out, size_t n);
void zk_vec_mul(const fe *a, const fe *b, fe *out, size_t n);
/* out[i] = a[i] * s. */
void zk_vec_scale(const fe *a, fe s, fe *out, size_t n);
/* The same on extension elements; zk_vec_mul_ext_base multiplies by base elements. */
void zk_vec_mul_ext(const fe3 *a, const fe3 *b, fe3 *out, size_t n);
void zk_vec_mul_ext_base(const fe3 *a, const fe *b, fe3 *out, size_t n);

#endif
