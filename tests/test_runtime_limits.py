"""Default CPU and memory limits respect the container: cgroup v2 (and v1) files are
parsed from fixture trees, missing or unparsable files mean no limit, the tightest limit
along the cgroup's ancestors wins, and the runtime's defaults take the container's limit
when it is below the host's."""

from __future__ import annotations

from pathlib import Path

import pytest

from zkactors.runtime import config as config_module
from zkactors.runtime import limits
from zkactors.runtime.config import RuntimeConfig
from zkactors.runtime.limits import (
    cgroup_cpu_limit,
    cgroup_memory_limit,
    cpu_limit_cores,
    parse_cpu_max,
    parse_memory_max,
)

GIB = 1 << 30


def v2_tree(tmp_path: Path, cgroup: str, files: dict[str, str]) -> tuple[Path, Path]:
    """A cgroup v2 mount under ``tmp_path`` with ``files`` (paths relative to the mount)
    and a /proc/self/cgroup naming ``cgroup``."""
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    proc = tmp_path / "proc_self_cgroup"
    proc.write_text(f"0::{cgroup}\n")
    return root, proc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max 100000", None),
        ("max", None),
        ("200000 100000", 2.0),
        ("150000 100000", 1.5),
        ("50000 100000", 0.5),
        ("100000", 1.0),  # period omitted: the kernel's default, 100 ms
        ("", None),
        (None, None),
        ("garbage here", None),
        ("-1 100000", None),
        ("100000 0", None),
    ],
)
def test_parse_cpu_max(text: str | None, expected: float | None) -> None:
    assert parse_cpu_max(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max", None),
        ("1073741824", GIB),
        ("0", None),
        ("", None),
        (None, None),
        ("lots", None),
        ("9223372036854771712", None),  # cgroup v1's "no limit"
    ],
)
def test_parse_memory_max(text: str | None, expected: int | None) -> None:
    assert parse_memory_max(text) == expected


@pytest.mark.parametrize(
    ("limit", "cores"), [(None, None), (0.5, 1), (1.0, 1), (1.5, 2), (2.0, 2), (7.25, 8)]
)
def test_fractional_quotas_round_up_to_whole_cores(limit: float | None, cores: int | None) -> None:
    assert cpu_limit_cores(limit) == cores


def test_v2_limits_of_the_process_cgroup(tmp_path: Path) -> None:
    root, proc = v2_tree(
        tmp_path,
        "/system.slice/app.scope",
        {
            "system.slice/app.scope/cpu.max": "250000 100000",
            "system.slice/app.scope/memory.max": str(2 * GIB),
        },
    )
    assert cgroup_cpu_limit(root, proc) == 2.5
    assert cgroup_memory_limit(root, proc) == 2 * GIB


def test_v2_the_tightest_ancestor_wins(tmp_path: Path) -> None:
    root, proc = v2_tree(
        tmp_path,
        "/outer/inner",
        {
            "outer/cpu.max": "100000 100000",
            "outer/memory.max": str(GIB),
            "outer/inner/cpu.max": "max 100000",
            "outer/inner/memory.max": "max",
            "outer/inner/memory.high": str(3 * GIB),
        },
    )
    assert cgroup_cpu_limit(root, proc) == 1.0
    assert cgroup_memory_limit(root, proc) == GIB


def test_v2_memory_high_counts_when_tighter(tmp_path: Path) -> None:
    root, proc = v2_tree(
        tmp_path, "/c", {"c/memory.max": str(4 * GIB), "c/memory.high": str(3 * GIB)}
    )
    assert cgroup_memory_limit(root, proc) == 3 * GIB


def test_v2_inside_a_cgroup_namespace_the_mount_is_the_cgroup(tmp_path: Path) -> None:
    # /proc/self/cgroup says "0::/" and the container's own limits sit at the mount.
    root, proc = v2_tree(tmp_path, "/", {"cpu.max": "300000 100000", "memory.max": str(GIB)})
    assert cgroup_cpu_limit(root, proc) == 3.0
    assert cgroup_memory_limit(root, proc) == GIB


def test_v2_a_path_not_under_the_mount_falls_back_to_the_mount(tmp_path: Path) -> None:
    # The container's own cgroup is mounted, but /proc names the host's path for it.
    root, proc = v2_tree(tmp_path, "/docker/abc123", {"cpu.max": "200000 100000"})
    assert cgroup_cpu_limit(root, proc) == 2.0


def test_v2_no_limits(tmp_path: Path) -> None:
    root, proc = v2_tree(
        tmp_path,
        "/user.slice",
        {"user.slice/cpu.max": "max 100000", "user.slice/memory.max": "max"},
    )
    assert cgroup_cpu_limit(root, proc) is None
    assert cgroup_memory_limit(root, proc) is None


def test_missing_files_mean_no_limit(tmp_path: Path) -> None:
    root, proc = v2_tree(tmp_path, "/a/b", {})
    assert cgroup_cpu_limit(root, proc) is None
    assert cgroup_memory_limit(root, proc) is None
    nowhere = tmp_path / "nowhere"
    assert cgroup_cpu_limit(nowhere, nowhere / "cgroup") is None
    assert cgroup_memory_limit(nowhere, nowhere / "cgroup") is None


def test_v1_quota_and_memory_limit(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    cpu = root / "cpu,cpuacct" / "docker" / "abc"
    memory = root / "memory" / "docker" / "abc"
    cpu.mkdir(parents=True)
    memory.mkdir(parents=True)
    (cpu / "cpu.cfs_quota_us").write_text("150000\n")
    (cpu / "cpu.cfs_period_us").write_text("100000\n")
    (memory / "memory.limit_in_bytes").write_text(f"{GIB}\n")
    (root / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    proc = tmp_path / "proc_self_cgroup"
    proc.write_text("4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n")
    assert cgroup_cpu_limit(root, proc) == 1.5
    assert cgroup_memory_limit(root, proc) == GIB
    (cpu / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_limit(root, proc) is None


def test_the_defaults_take_the_container_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_module, "container_cores", lambda: 1)
    monkeypatch.setattr(config_module, "container_memory_bytes", lambda: GIB)
    monkeypatch.setattr(config_module, "physical_memory_bytes", lambda: 64 * GIB)
    config = RuntimeConfig()
    assert config.max_parallel == 1
    assert config.prover_threads == 1
    assert config.memory_budget_bytes == GIB // 2


def test_the_host_figures_stand_without_a_container_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(config_module, "container_cores", lambda: None)
    monkeypatch.setattr(config_module, "container_memory_bytes", lambda: None)
    monkeypatch.setattr(config_module, "physical_memory_bytes", lambda: 8 * GIB)
    assert RuntimeConfig().memory_budget_bytes == 4 * GIB
    # A quota above the cores the process may run on does not add cores.
    monkeypatch.setattr(config_module, "container_cores", lambda: 10_000)
    assert config_module.available_cores() < 10_000


def test_the_process_limits_are_read_once_and_never_raise() -> None:
    cores, memory = limits.container_cores(), limits.container_memory_bytes()
    assert cores is None or cores >= 1
    assert memory is None or memory > 0
