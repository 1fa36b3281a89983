/* Which vector kernels the native core uses: detected once from the CPU, capped by the
 * ZKACTORS_KERNELS environment variable, and forceable by tests.
 *
 * Levels are ordered; a level enables every kernel family up to it:
 *   ZK_KERNELS_SCALAR  portable C everywhere (SHA-256 included: no SHA-NI)
 *   ZK_KERNELS_AVX2    AVX2 field/NTT kernels (4 lanes); SHA-NI where the CPU has it
 *   ZK_KERNELS_AVX512  AVX-512F field/NTT kernels (8 lanes); AVX-512 16-lane SHA-256
 * ZKACTORS_KERNELS=scalar|avx2|avx512 (or auto, the default) is read once, on first use,
 * and only ever lowers the level: asking for more than the CPU has gives what it has.
 * Every kernel computes the same canonical values, so the level changes speed only;
 * receipts are byte-identical at every level.
 *
 * The C files are compiled into each native module separately, so each module has its
 * own copy of this state; the environment variable reaches all of them, a forced level
 * only the module whose function was called. */
#ifndef ZK_CPU_H
#define ZK_CPU_H

#define ZK_KERNELS_SCALAR 0
#define ZK_KERNELS_AVX2 1
#define ZK_KERNELS_AVX512 2

/* The best level this CPU (and OS) supports. */
int zk_cpu_level(void);
/* The level in use: a forced level if any, else min(CPU, ZKACTORS_KERNELS). */
int zk_kernel_level(void);
/* Force a level (clamped to the CPU's), or -1 to return to the environment's choice;
 * returns the previously forced value (-1 when none was). */
int zk_kernels_force(int level);
/* "scalar", "avx2" or "avx512". */
const char *zk_kernel_name(int level);

#endif
