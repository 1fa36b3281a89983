"""The CPU and memory a container allows this process, from its control group.

A process in a container sees the host's cores (``os.cpu_count``, and usually its CPU
affinity too) and the host's physical memory, yet its control group may allow it two
CPUs' worth of time and a fraction of the RAM. Defaults computed from the host then
oversubscribe: more prover threads than the CPU quota runs at once (they are throttled
in turns), and a memory budget past the limit, which the kernel enforces by killing the
process. So the runtime's defaults take the smaller of the host's figure and the cgroup's.

cgroup v2 (the unified hierarchy, ``0::/path`` in ``/proc/self/cgroup``):
``cpu.max`` is ``"$QUOTA $PERIOD"`` (microseconds) or ``"max $PERIOD"``, and
``memory.max`` / ``memory.high`` are bytes or ``"max"``. cgroup v1 (a line per
controller, ``N:cpu,cpuacct:/path``) is read as a fallback: ``cpu.cfs_quota_us`` (-1 for
none) over ``cpu.cfs_period_us``, and ``memory.limit_in_bytes`` (a huge number for none).

A limit on any ancestor cgroup bounds the process too, so the process's cgroup and its
ancestors are read, up to the mount point, and the tightest limit wins. Inside a cgroup
namespace the process's path is ``/`` and the mount point is its own cgroup. Files that
are missing or unreadable, or say nothing parsable, mean no limit: never an error.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

#: Where the cgroup hierarchy is mounted, and where the process's cgroup is named.
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")

# cgroup v1 says "no limit" with a page-rounded LONG_MAX; anything this large is none.
_V1_UNLIMITED = 1 << 62


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _memberships(proc_self_cgroup: Path) -> dict[str, str]:
    """Controller -> cgroup path; ``""`` is the cgroup v2 (unified) path."""
    text = _read(proc_self_cgroup)
    paths: dict[str, str] = {}
    for line in (text or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for controller in controllers.split(",") if controllers else [""]:
            paths.setdefault(controller, path)
    return paths


def _chain(mount: Path, cgroup_path: str) -> list[Path]:
    """The directories of the cgroup and its ancestors under ``mount``, innermost first;
    only those that exist (the mount itself always counts: inside a cgroup namespace, or
    when the container's own cgroup is mounted there, it is the process's cgroup)."""
    dirs = []
    relative = Path(cgroup_path.strip("/"))
    while relative != Path("."):
        if (mount / relative).is_dir():
            dirs.append(mount / relative)
        relative = relative.parent
    dirs.append(mount)
    return dirs


def parse_cpu_max(text: str | None) -> float | None:
    """CPUs' worth of time allowed by a v2 ``cpu.max`` (``"200000 100000"`` -> 2.0), or
    None for ``"max ..."``, a missing file or an unparsable one."""
    if not text:
        return None
    fields = text.split()
    if not fields or fields[0] == "max":
        return None
    try:
        quota = int(fields[0])
        period = int(fields[1]) if len(fields) > 1 else 100_000
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def parse_memory_max(text: str | None) -> int | None:
    """Bytes allowed by a v2 ``memory.max`` / ``memory.high`` or a v1
    ``memory.limit_in_bytes``, or None for ``"max"``, no limit, or no parsable file."""
    if not text or text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 < value < _V1_UNLIMITED else None


def _tightest(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return min(known) if known else None


def cgroup_cpu_limit(
    root: Path = CGROUP_ROOT, proc_self_cgroup: Path = PROC_SELF_CGROUP
) -> float | None:
    """CPUs' worth of time the process's cgroup allows (fractional), or None if unlimited
    or unknown."""
    paths = _memberships(proc_self_cgroup)
    if "" in paths and (root / "cgroup.controllers").exists():
        return _tightest([parse_cpu_max(_read(d / "cpu.max")) for d in _chain(root, paths[""])])
    for controller in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        mount = root / controller
        if mount.is_dir():
            break
    else:
        return None
    limits: list[float | None] = []
    for directory in _chain(mount, paths.get("cpu", "/")):
        quota = _read(directory / "cpu.cfs_quota_us")
        period = _read(directory / "cpu.cfs_period_us")
        if quota is not None and period is not None:
            limits.append(parse_cpu_max(f"{quota} {period}"))
    return _tightest(limits)


def cgroup_memory_limit(
    root: Path = CGROUP_ROOT, proc_self_cgroup: Path = PROC_SELF_CGROUP
) -> int | None:
    """Bytes the process's cgroup may use (the tightest of ``memory.max`` and
    ``memory.high`` along the chain, where the kernel reclaims hard or kills), or None
    if unlimited or unknown."""
    paths = _memberships(proc_self_cgroup)
    limits: list[float | None] = []
    if "" in paths and (root / "cgroup.controllers").exists():
        for directory in _chain(root, paths[""]):
            for name in ("memory.max", "memory.high"):
                limits.append(parse_memory_max(_read(directory / name)))
    elif (root / "memory").is_dir():
        for directory in _chain(root / "memory", paths.get("memory", "/")):
            limits.append(parse_memory_max(_read(directory / "memory.limit_in_bytes")))
    tightest = _tightest(limits)
    return None if tightest is None else int(tightest)


def cpu_limit_cores(limit: float | None) -> int | None:
    """Whole cores for a CPU limit: a fraction rounds up (1.5 CPUs keep two threads
    busy part of the time), and at least one."""
    return None if limit is None else max(1, math.ceil(limit - 1e-9))


@functools.cache
def container_cores() -> int | None:
    """Whole cores this process's cgroup allows, or None. Read once per process: limits
    of a running container rarely change, and this is asked on every config."""
    return cpu_limit_cores(cgroup_cpu_limit())


@functools.cache
def container_memory_bytes() -> int | None:
    """Bytes this process's cgroup allows, or None. Read once per process."""
    return cgroup_memory_limit()


__all__ = [
    "CGROUP_ROOT",
    "PROC_SELF_CGROUP",
    "cgroup_cpu_limit",
    "cgroup_memory_limit",
    "container_cores",
    "container_memory_bytes",
    "cpu_limit_cores",
    "parse_cpu_max",
    "parse_memory_max",
]
