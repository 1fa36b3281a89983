#ifndef ZK_FIELD_KERNELS_H
#define ZK_FIELD_KERNELS_H
#include "field.h"

/* out[i] = base^i for i < n. */
void zk_powers(fe base, fe *out, size_t n);

#endif
