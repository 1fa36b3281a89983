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
