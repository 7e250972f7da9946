"""V8's helper pool sized to the CPUs a process may use (stacks/app_process.py), for app.py's jsii Node process
and the test session's: never more than Node's default of 4, fewer on a small machine or in a CPU-limited
container. app.py's own run is in tests/test_app_process.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stacks.app_process import NODE_OPTIONS, available_cpus, v8_pool_size, with_v8_pool_sized

AFFINITY = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@pytest.mark.parametrize(("cpus", "pool"), [(1, 1), (2, 1), (3, 2), (5, 4), (8, 4), (64, 4)])
def test_one_helper_fewer_than_the_cpus_at_least_one_at_most_nodes_default(cpus: int, pool: int) -> None:
    assert v8_pool_size(cpus) == pool


@pytest.mark.parametrize(
    ("files", "limit"),
    [
        ({}, None),  # no cgroup CPU controller: the affinity mask alone
        ({"cpu.max": "max 100000\n"}, None),  # cgroup v2, unlimited
        ({"cpu.max": "100000 100000\n"}, 1),  # cgroup v2: `docker run --cpus 1`
        ({"cpu.max": "150000 100000\n"}, 2),  # one and a half CPUs' time: 2 may run at once
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # cgroup v1, unlimited
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),  # cgroup v1
        ({"cpu.max": "unreadable"}, None),
    ],
)
def test_a_cgroup_cpu_quota_caps_the_cpus_the_affinity_mask_allows(
    tmp_path: Path, files: dict[str, str], limit: int | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert available_cpus(tmp_path) == (AFFINITY if limit is None else min(AFFINITY, limit))


@pytest.mark.parametrize(
    ("given", "cpus", "passed_on"),
    [
        ("", 2, "--v8-pool-size=1"),
        ("", 16, "--v8-pool-size=4"),  # a big machine: no more than Node's default
        ("--max-old-space-size=3072", 3, "--max-old-space-size=3072 --v8-pool-size=2"),
        ("--v8-pool-size=2", 16, "--v8-pool-size=2"),  # the caller's size stands: a second one would win
        ("--trace-warnings --v8-pool-size=6", 2, "--trace-warnings --v8-pool-size=6"),
        ("--v8_pool_size=3", 2, "--v8_pool_size=3"),  # Node takes underscores for dashes
    ],
)
def test_node_options_get_the_pool_size_unless_they_have_one(given: str, cpus: int, passed_on: str) -> None:
    assert with_v8_pool_sized(given, cpus) == passed_on


@pytest.mark.skipif(
    not Path("/proc/self/environ").exists(), reason="reads the process's environment in /proc"
)
def test_the_test_sessions_jsii_node_runs_with_the_pool_sized() -> None:
    """tests/synth_helpers.py sizes it before importing aws_cdk, which starts jsii's Node process."""
    import aws_cdk  # noqa: F401  (jsii's kernel runs once aws-cdk-lib is loaded)
    from jsii._runtime import kernel

    node = getattr(kernel.provider, "_process")._process  # noqa: B009  (jsii's layout, as stop_kernel reads it)
    environ = dict(
        entry.split("=", 1)
        for entry in Path(f"/proc/{node.pid}/environ").read_text().split("\0")
        if "=" in entry
    )
    assert f"--v8-pool-size={v8_pool_size(available_cpus())}" in environ[NODE_OPTIONS].split()
