/* Kernel level selection (see cpu.h). */
#include "cpu.h"

#include <stdlib.h>
#include <string.h>

/* 0: not computed yet; otherwise level + 1. Computing twice is harmless (same inputs,
 * same answer), so a relaxed load/store pair is enough and no lock is needed. */
static int cpu_cache, env_cache;
static int forced = -1;

int zk_cpu_level(void) {
    int c = __atomic_load_n(&cpu_cache, __ATOMIC_RELAXED);
    if (!c) {
        int level = ZK_KERNELS_SCALAR;
#if defined(__x86_64__) && defined(__GNUC__)
        /* __builtin_cpu_supports checks the OS saves the wider registers (XCR0) too. */
        if (__builtin_cpu_supports("avx2")) level = ZK_KERNELS_AVX2;
        if (__builtin_cpu_supports("avx512f")) level = ZK_KERNELS_AVX512;
#endif
        c = level + 1;
        __atomic_store_n(&cpu_cache, c, __ATOMIC_RELAXED);
    }
    return c - 1;
}

static int env_level(void) {
    int c = __atomic_load_n(&env_cache, __ATOMIC_RELAXED);
    if (!c) {
        int level = zk_cpu_level();
        const char *v = getenv("ZKACTORS_KERNELS");
        /* Unknown values are ignored rather than fatal: the library must still load. */
        if (v && strcmp(v, "scalar") == 0) level = ZK_KERNELS_SCALAR;
        else if (v && strcmp(v, "avx2") == 0 && level > ZK_KERNELS_AVX2) level = ZK_KERNELS_AVX2;
        c = level + 1;
        __atomic_store_n(&env_cache, c, __ATOMIC_RELAXED);
    }
    return c - 1;
}

int zk_kernel_level(void) {
    int f = __atomic_load_n(&forced, __ATOMIC_RELAXED);
    return f >= 0 ? f : env_level();
}

int zk_kernels_force(int level) {
    if (level >= 0 && level > zk_cpu_level()) level = zk_cpu_level();
    if (level < -1) level = -1;
    return __atomic_exchange_n(&forced, level, __ATOMIC_RELAXED);
}

const char *zk_kernel_name(int level) {
    switch (level) {
    case ZK_KERNELS_AVX512: return "avx512";
    case ZK_KERNELS_AVX2: return "avx2";
    default: return "scalar";
    }
}
