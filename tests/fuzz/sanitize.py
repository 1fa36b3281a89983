"""Run the native-heavy tests against an AddressSanitizer + UndefinedBehaviorSanitizer
build of ``ext/`` (what ``tox -e sanitize`` runs; usable without tox too).

Usage, from the repository root::

    python tests/fuzz/sanitize.py WORKDIR [pytest arguments...]

1. copies the ``zkactors`` package (Python files only) to ``WORKDIR/lib``;
2. builds every native module there with ``ZKACTORS_SANITIZE=1 python setup.py build_ext
   --force`` (``--force``: distutils would otherwise reuse object files of an ordinary
   build that look up to date; private build directories, so the shared working tree's
   in-place modules are never replaced by instrumented ones);
3. checks that each built module really is instrumented (calls ASan's and UBSan's checks,
   links their runtimes), and that a deliberate heap overflow is caught;
4. runs pytest with ``LD_PRELOAD`` of that libasan (python itself is not instrumented,
   and ASan must be the first library loaded), ``PYTHONMALLOC=malloc`` (so Python's
   buffers come from ASan's allocator and overruns into them are caught),
   ``PYTHONPATH=WORKDIR/lib`` and ``python -P`` (so the repository's own, uninstrumented
   modules cannot be imported instead), after checking which modules get imported.

Without pytest arguments it runs ``NATIVE_TESTS`` with ``-m "not slow"``. Any ASan or
UBSan report aborts the run (exit code 134 or a signal) with the report on stderr.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Test files whose work is mostly in native code (decoders, executor, prover, verifier,
#: math kernels), with their hostile-input tests.
NATIVE_TESTS = (
    "tests/test_field.py",
    "tests/test_ntt.py",
    "tests/test_hash.py",
    "tests/test_merkle.py",
    "tests/test_transcript.py",
    "tests/test_air.py",
    "tests/test_execute.py",
    "tests/test_isa_program.py",
    "tests/test_native_gil.py",
    "tests/test_prover.py",
    # Cancelled proofs take the early-return paths of every step.
    "tests/test_cancel.py",
    "tests/test_verifier.py",
    "tests/test_receipt_format.py",
    "tests/test_soundness.py",
    "tests/test_fuzz_decoders.py",
    # The runtime drives the native prover and verifier from several worker threads.
    "tests/test_runtime_stateful.py",
)

SANITIZER_OPTIONS = {
    # Python's own allocations at exit are not ours to chase.
    "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"
    ":strict_string_checks=1:check_initialization_order=1",
    "UBSAN_OPTIONS": "halt_on_error=1:abort_on_error=1:print_stacktrace=1",
}


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, check=True, text=True, **kwargs)  # type: ignore[call-overload]


def _runtime_libraries(module: str) -> dict[str, str]:
    """name -> path of the sanitizer runtimes ``module`` links (from ldd)."""
    found = {}
    output = subprocess.run(["ldd", module], check=True, capture_output=True, text=True).stdout
    for line in output.splitlines():
        parts = line.split()
        for name in ("libasan", "libubsan"):
            if parts and parts[0].startswith(name) and len(parts) >= 3:
                found[name] = parts[2]
    return found


def _instrumented(module: str) -> bool:
    """True if ``module``'s code calls the ASan and UBSan checks (compiled with them)."""
    symbols = subprocess.run(
        ["nm", "-D", "--undefined-only", module], check=True, capture_output=True, text=True
    ).stdout
    return "__asan_report_" in symbols and "__ubsan_handle_" in symbols


def build(workdir: Path) -> str:
    """Build the sanitized package in ``workdir/lib``; return the libasan to preload."""
    lib = workdir / "lib"
    shutil.rmtree(lib, ignore_errors=True)
    shutil.copytree(
        ROOT / "zkactors",
        lib / "zkactors",
        ignore=shutil.ignore_patterns("*.so", "__pycache__"),
    )
    env = {**os.environ, "ZKACTORS_SANITIZE": "1"}
    env.pop("ZKACTORS_BUILD_ONLY", None)
    _run(
        [
            sys.executable,
            "setup.py",
            "-q",
            "build_ext",
            "--force",
            "--build-lib",
            str(lib),
            "--build-temp",
            str(workdir / "obj"),
        ],
        cwd=ROOT,
        env=env,
    )
    modules = sorted(glob.glob(str(lib / "zkactors" / "_native" / "*.so")))
    expected = sorted(Path(p).stem for p in glob.glob(str(ROOT / "ext" / "*.pyx")))
    built = sorted(Path(m).name.split(".")[0] for m in modules)
    if built != expected:
        sys.exit(f"sanitize: built {built}, expected {expected}")
    asan = set()
    for module in modules:
        runtimes = _runtime_libraries(module)
        if set(runtimes) != {"libasan", "libubsan"} or not _instrumented(module):
            sys.exit(f"sanitize: {module} is not built with ASan and UBSan (ldd: {runtimes})")
        asan.add(runtimes["libasan"])
    if len(asan) != 1:
        sys.exit(f"sanitize: modules link different ASan runtimes: {sorted(asan)}")
    return asan.pop()


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    workdir = Path(argv[0]).resolve()
    pytest_args = argv[1:] or ["-m", "not slow", *NATIVE_TESTS]
    libasan = build(workdir)
    lib = workdir / "lib"
    env = {
        **os.environ,
        **SANITIZER_OPTIONS,
        "LD_PRELOAD": libasan,
        "PYTHONMALLOC": "malloc",
        "PYTHONPATH": str(lib),
    }
    env.pop("ZKACTORS_SANITIZE", None)
    probe = (
        "import glob, importlib, os, sys\n"
        "for path in sorted(glob.glob(os.path.join(sys.argv[1], 'zkactors/_native/*.so'))):\n"
        "    name = 'zkactors._native.' + os.path.basename(path).split('.')[0]\n"
        "    module = importlib.import_module(name)\n"
        "    assert os.path.samefile(module.__file__, path), (name, module.__file__)\n"
        "    print('sanitized:', module.__file__)\n"
    )
    _run([sys.executable, "-P", "-c", probe, str(lib)], cwd=ROOT, env=env)
    # A deliberate heap overflow must abort with a report, or a clean run proves nothing.
    canary = "import ctypes; b = ctypes.create_string_buffer(16); ctypes.memset(b, 0, 64)"
    check = subprocess.run(
        [sys.executable, "-P", "-c", canary], env=env, capture_output=True, text=True, check=False
    )
    if check.returncode == 0 or "AddressSanitizer" not in check.stderr:
        sys.exit("sanitize: ASan did not catch a deliberate heap overflow; is it preloaded?")
    print("sanitize: ASan is active (a deliberate overflow was caught)", flush=True)
    command = [sys.executable, "-P", "-m", "pytest", "-p", "no:cacheprovider", *pytest_args]
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
