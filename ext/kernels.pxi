# Included by every ext/*.pyx module (Cython ``include``): each module links its own copy
# of the C core, and with it its own kernel-level state (ext/cpu.h), so each exposes the
# same three functions over its copy; zkactors.kernels switches them all together.

cdef extern from "cpu.h":
    int zk_cpu_level() nogil
    int zk_kernel_level() nogil
    int zk_kernels_force(int level) nogil
    const char *zk_kernel_name(int level) nogil

_KERNEL_LEVELS = {"scalar": 0, "avx2": 1, "avx512": 2}


def cpu_kernels():
    """The best kernel level this CPU supports: "scalar", "avx2" or "avx512"."""
    return zk_kernel_name(zk_cpu_level()).decode()


def kernels_in_use():
    """The kernel level this module's C code uses now (forced, else ZKACTORS_KERNELS, else
    the CPU's best)."""
    return zk_kernel_name(zk_kernel_level()).decode()


def force_kernels(level):
    """Force a kernel level ("scalar", "avx2", "avx512"; clamped to the CPU's) or None to
    return to the environment's choice, in this module only; returns the previously
    forced level or None. For tests and benchmarks that compare paths."""
    cdef int code = -1 if level is None else _KERNEL_LEVELS[level]
    cdef int previous = zk_kernels_force(code)
    return None if previous < 0 else zk_kernel_name(previous).decode()
