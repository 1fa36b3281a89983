"""Build the native core (``ext/``) into ``zkactors._native.*`` with Cython.

Every ``ext/<name>.pyx`` becomes ``zkactors._native.<name>``. The C layer (every
``ext/*.c``) is compiled once, in parallel, into a static library that each module links;
the linker takes from it only the objects a module uses, and nothing has to be found at
run time. Modules are then compiled in parallel too (``-j``, default: the usable cores).

The build does not repeat work: C objects are kept per set of compiler flags (so a
different flag set never reuses stale objects), and a module that is newer than its
sources, the headers and the library is not rebuilt, also by ``pip install -e`` (whose
build directory is temporary; the objects live under ``build/`` of the checkout).
``pip install -v`` shows each step.

Flags are portable x86-64/aarch64 by default, so a built wheel runs on any machine of
the architecture; CPU-specific kernels (SHA-NI, AVX2) are chosen at run time. Opt-in
switches, read from the environment:

* ``ZKACTORS_MARCH_NATIVE=1`` adds ``-march=native`` (a faster build for this machine only);
* ``ZKACTORS_SANITIZE=1`` builds with AddressSanitizer and UndefinedBehaviorSanitizer;
* ``ZKACTORS_BUILD_ONLY=executor,prover`` builds only the named modules (a quick rebuild
  while working on one layer: ``python setup.py build_ext --inplace``).

A module already built with other flags is not rebuilt by a flag change alone: add
``--force`` (``python setup.py build_ext --inplace --force``).
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor

import setuptools
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext as _build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
C_SOURCES = sorted(glob.glob("ext/*.c"))
HEADERS = sorted(glob.glob("ext/*.h"))
PYX_SOURCES = sorted(glob.glob("ext/*.pyx"))
EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def _newer(sources: list[str], target: str) -> bool:
    """True if ``target`` is missing or older than any of ``sources``. (Our own: the
    setuptools helper moved between the versions this file is run with.)"""
    if not os.path.exists(target):
        return True
    built = os.path.getmtime(target)
    return any(os.path.getmtime(source) > built for source in sources)


_CYTHON_OPTIONS: dict = {
    "build_dir": "build/cython",  # generated C stays out of ext/ and out of git
    "language_level": 3,
    "compiler_directives": {
        "boundscheck": False,
        "wraparound": False,
        "cdivision": True,
        "initializedcheck": False,
        "embedsignature": True,
    },
}


def _jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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


def _log(message: str) -> None:
    # stderr, unbuffered: pip -v streams it, so a long build shows where it is.
    print(f"zkactors build: {message}", file=sys.stderr, flush=True)


class build_ext(_build_ext):
    """Compile the C core once into a static library, then the modules that link it."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if not self.parallel:
            self.parallel = _jobs()

    def run(self) -> None:
        # Cython runs here, not when setup.py is read, so making an sdist or the
        # package's metadata does not generate C it will not compile.
        generated = cythonize(self.extensions, nthreads=self.parallel, **_CYTHON_OPTIONS)
        by_name = {ext.name: ext for ext in generated}
        for ext in self.extensions:
            ext.sources = by_name[ext.name].sources
        # setuptools turns ``inplace`` off while it builds (into build_lib, a temporary
        # directory under ``pip install -e``), so remember whether the modules end up in
        # the source tree: then an up-to-date module there need not be built again.
        self._into_source_tree = bool(self.inplace or self.editable_mode)
        self._up_to_date: set[str] = set()
        super().run()

    def copy_extensions_to_source(self) -> None:
        # Only the modules just built go back: rewriting an up-to-date one would change a
        # file that running processes (a test run, a service) may have mapped.
        every = self.extensions
        self.extensions = [ext for ext in every if ext.name not in self._up_to_date]
        try:
            super().copy_extensions_to_source()
        finally:
            self.extensions = every

    def copy_file(self, infile: str, outfile: str, *args: object, **kwargs: object) -> object:
        if getattr(self, "_into_source_tree", False) and infile.endswith(EXT_SUFFIX):
            # A new file renamed over the old one, never the old one rewritten in place:
            # a process that has the old module loaded keeps a consistent copy.
            partial = f"{outfile}.partial"
            shutil.copy2(infile, partial)
            os.replace(partial, outfile)
            return (outfile, True)
        return super().copy_file(infile, outfile, *args, **kwargs)

    def build_extensions(self) -> None:
        library = self._build_core()
        for ext in self.extensions:
            ext.extra_objects.append(library)
            ext.depends.extend([*HEADERS, library])
        _log(f"building {len(self.extensions)} modules, {self.parallel} at a time")
        super().build_extensions()

    def _build_core(self) -> str:
        """Compile every ``ext/*.c`` that is out of date, in parallel; return the library.

        The objects go to a directory named after the compiler flags, so switching
        ZKACTORS_SANITIZE or ZKACTORS_MARCH_NATIVE never links objects built with other
        flags. ``pip install -e`` gives each build a fresh temporary build_temp; the
        objects then live in the checkout's ``build/`` so the next install reuses them.
        """
        compile_args, _ = _compile_args()
        tag = hashlib.sha256(" ".join(compile_args).encode()).hexdigest()[:10]
        base = os.path.join(HERE, "build") if self.editable_mode else self.build_temp
        out_dir = os.path.join(base, f"zkcore-{tag}")
        library = self.compiler.library_filename("zkcore", output_dir=out_dir)
        objects = self.compiler.object_filenames(C_SOURCES, output_dir=out_dir)
        stale = [
            (src, obj)
            for src, obj in zip(C_SOURCES, objects, strict=True)
            if self.force or _newer([src, *HEADERS], obj)
        ]
        if stale:
            _log(f"compiling {len(stale)} C files of the core, {self.parallel} at a time")

            def compile_one(src: str) -> list[str]:
                return self.compiler.compile(
                    [src], output_dir=out_dir, include_dirs=["ext"], extra_postargs=compile_args
                )

            with ThreadPoolExecutor(max_workers=self.parallel) as pool:
                list(pool.map(compile_one, [src for src, _ in stale]))
        if stale or not os.path.exists(library):
            # ar would keep members of files that no longer exist: start afresh.
            if os.path.exists(library):
                os.remove(library)
            self.compiler.create_static_lib(objects, "zkcore", output_dir=out_dir)
        else:
            _log("the C core is up to date")
        return library

    def build_extension(self, ext: Extension) -> None:
        if self._into_source_tree and not self.force:
            build_py = self.get_finalized_command("build_py")
            in_tree, regular = self._get_inplace_equivalent(build_py, ext)
            if os.path.exists(in_tree) and not _newer(ext.sources + ext.depends, in_tree):
                # Up to date in the source tree: hand setuptools that file instead of
                # compiling it again (it copies build_lib's file back after the build).
                _log(f"{ext.name} is up to date")
                self._up_to_date.add(ext.name)
                os.makedirs(os.path.dirname(regular), exist_ok=True)
                shutil.copy2(in_tree, regular)
                return
        _log(f"building {ext.name}")
        super().build_extension(ext)


def _extensions() -> list[Extension]:
    if not PYX_SOURCES or not C_SOURCES:
        # Never a silently pure-Python package: without ext/ the library cannot work.
        sys.exit("setup.py: ext/*.pyx or ext/*.c not found; is this a complete source tree?")
    compile_args, link_args = _compile_args()
    names = [os.path.splitext(os.path.basename(pyx))[0] for pyx in PYX_SOURCES]
    only = {name for name in os.environ.get("ZKACTORS_BUILD_ONLY", "").split(",") if name}
    if only - set(names):
        sys.exit(f"ZKACTORS_BUILD_ONLY: no module {sorted(only - set(names))}; have {names}")
    return [
        Extension(
            f"zkactors._native.{name}",
            sources=[pyx],  # the C core is linked in by build_ext above
            include_dirs=["ext"],
            extra_compile_args=compile_args,
            extra_link_args=link_args,
        )
        for name, pyx in zip(names, PYX_SOURCES, strict=True)
        if not only or name in only
    ]


def _license() -> dict[str, str]:
    """Apache-2.0, as an SPDX License-Expression (PEP 639) where setuptools can write one
    (77 and later, as the isolated build that pip and ``python -m build`` use); older
    setuptools, which in-tree builds may run with, gets the older License field. Set here,
    not in pyproject.toml: older setuptools rejects the string form there, and newer warns
    about the table form."""
    major = int(setuptools.__version__.split(".")[0])
    return {"license_expression" if major >= 77 else "license": "Apache-2.0"}


setup(ext_modules=_extensions(), cmdclass={"build_ext": build_ext}, **_license())
