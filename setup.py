"""Build the native core (``ext/``) into ``zkactors._native.*`` with Cython.

Every ``ext/<name>.pyx`` becomes ``zkactors._native.<name>``. A module's C sources are
named in its first lines, ``# distutils: sources = ext/a.c ext/b.c``; the C layer is
small, so compiling it into each module that needs it keeps the build trivial and
avoids a shared library that would have to be found at run time.

Flags are portable x86-64/aarch64 by default, so a built wheel runs on any machine of
the architecture; CPU-specific kernels (SHA-NI, AVX2) are chosen at run time. Two
opt-in switches, read from the environment:

* ``ZKACTORS_MARCH_NATIVE=1`` adds ``-march=native`` (a faster build for this machine only);
* ``ZKACTORS_SANITIZE=1`` builds with AddressSanitizer and UndefinedBehaviorSanitizer;
* ``ZKACTORS_BUILD_ONLY=vm,prover`` builds only the named modules (a quick rebuild
  while working on one layer: ``python setup.py build_ext --inplace``).
"""

from __future__ import annotations

import glob
import os

from Cython.Build import cythonize
from setuptools import Extension, setup


def _compile_args() -> tuple[list[str], list[str]]:
    compile_args = ["-O3", "-fno-strict-aliasing", "-Wall", "-Wno-unused-function"]
    link_args = ["-pthread"]
    if os.environ.get("ZKACTORS_MARCH_NATIVE") == "1":
        compile_args.append("-march=native")
    if os.environ.get("ZKACTORS_SANITIZE") == "1":
        sanitize = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"]
        compile_args = [a for a in compile_args if a != "-O3"] + sanitize
        link_args += sanitize
    return compile_args, link_args


def _extensions() -> list[Extension]:
    compile_args, link_args = _compile_args()
    only = {name for name in os.environ.get("ZKACTORS_BUILD_ONLY", "").split(",") if name}
    modules = []
    for pyx in sorted(glob.glob("ext/*.pyx")):
        stem = os.path.splitext(os.path.basename(pyx))[0]
        if only and stem not in only:
            continue
        modules.append(
            Extension(
                f"zkactors._native.{stem}",
                sources=[pyx],  # plus the C files its "# distutils: sources" line names
                include_dirs=["ext"],
                extra_compile_args=compile_args,
                extra_link_args=link_args,
            )
        )
    return cythonize(
        modules,
        build_dir="build/cython",  # generated C stays out of ext/ and out of git
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
        },
    )


setup(ext_modules=_extensions())
