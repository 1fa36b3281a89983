/* Which vector kernels the native core uses: detected once from the CPU, capped by the
 * ZKACTORS_KERNELS environment variable, and forceable by tests.
 *
 * Levels are ordered; a level enables every kernel family up to it:
 *   ZK_KERNELS_SCALAR  portable C field/NTT kernels
 *   ZK_KERNELS_AVX2    AVX2 field/NTT kernels (4 lanes)
 *   ZK_KERNELS_AVX512  AVX-512F field/NTT kernels (8 lanes); 16-lane AVX-512 SHA-256
 * SHA-NI is used at every level where the CPU has it (zk_sha256_force_portable turns it
 * off): so "scalar" on an AVX-512 machine is what the core did on an AVX2-only CPU with
 * SHA-NI before it had AVX2 kernels, and "avx2" is such a CPU now.
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
