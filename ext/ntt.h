/* Number-theoretic transforms over power-of-two subgroups of F_p, natural order in and out.
 * Twiddles are computed once per size and cached (thread-safe). Functions returning int
 * return 0 on success and -1 on allocation failure. */
#ifndef ZK_NTT_H
#define ZK_NTT_H
#include "field.h"

/* Coefficients -> evaluations at w^i, i < 2^log_n (w = primitive 2^log_n-th root). In place. */
int zk_ntt(fe *values, unsigned log_n);
/* Evaluations at w^i -> coefficients. In place. */
int zk_intt(fe *values, unsigned log_n);
/* Coefficients -> evaluations at offset * w^i. In place. */
int zk_coset_ntt(fe *values, unsigned log_n, fe offset);
/* Evaluations at offset * w^i -> coefficients. In place. */
int zk_coset_intt(fe *values, unsigned log_n, fe offset);

/* Low-degree extension of n_cols columns: in[c] holds 2^log_t evaluations over <w_T>;
 * out[c] (2^(log_t+log_blowup) entries) receives evaluations on offset * <w_N>, natural
 * order. Columns are spread over `threads` threads. in and out may not alias. */
int zk_lde(const fe *const *in, fe *const *out, size_t n_cols, unsigned log_t,
           unsigned log_blowup, fe offset, unsigned threads);
/* The same from coefficients: in[c] holds the 2^log_t coefficients of a polynomial of
 * degree < 2^log_t, and out[c] its evaluations on offset * <w_N>, exactly as zk_lde of
 * its values over <w_T> (the interpolation, the first pass of zk_lde, is skipped). */
int zk_lde_coeffs(const fe *const *in, fe *const *out, size_t n_cols, unsigned log_t,
                  unsigned log_blowup, fe offset, unsigned threads);

/* Horner evaluation of a base-field polynomial at an extension point. */
fe3 zk_eval_base_poly_at_ext(const fe *coeffs, size_t n, fe3 x);
/* Horner evaluation of an extension-field polynomial at an extension point. */
fe3 zk_eval_ext_poly_at_ext(const fe3 *coeffs, size_t n, fe3 x);

/* out[i] = 1/values[i] (0 stays 0), Montgomery's trick: 3 multiplications per element. */
void zk_batch_inverse(const fe *values, fe *out, size_t n);
void zk_batch_inverse_ext(const fe3 *values, fe3 *out, size_t n);
/* out[i] = 1/values[i], and 0 where values[i] = 0 (the helper column of a branch test:
 * the executor's trace and AIR 2's); out may not alias values. */
void zk_batch_inverse_or_zero(const fe *values, fe *out, size_t n);

/* ---- additions (the functions above keep their contracts) ----
 * Each returns -1 also when log_n > 32 (no such subgroup). */

/* The transforms above with one large transform split over `threads` (threads <= 1: the
 * same as the single-threaded function). Results are identical for any thread count. */
int zk_ntt_threaded(fe *values, unsigned log_n, unsigned threads);
int zk_intt_threaded(fe *values, unsigned log_n, unsigned threads);
int zk_coset_ntt_threaded(fe *values, unsigned log_n, fe offset, unsigned threads);
int zk_coset_intt_threaded(fe *values, unsigned log_n, fe offset, unsigned threads);

/* zk_batch_inverse and zk_batch_inverse_ext accept out == values (in place). */

/* 1 when the AVX-512 (AVX2) butterflies are available on this CPU. Which ones are used is
 * cpu.h's kernel level. */
int zk_ntt_has_avx512(void);
int zk_ntt_has_avx2(void);
/* Force the portable scalar kernels (force != 0), or return to the environment's choice
 * (force == 0); returns 1 if scalar was forced before. zk_kernels_force chooses any level. */
int zk_ntt_force_scalar(int force);

#endif
