"""Markers by what a test starts: any test that runs real Redis, as processes or in containers, is an
`integration` test, so `-m "not integration"` stays the fast selection (no processes, no engine).

Groups for running side by side (pytest-xdist `--dist loadgroup`, set in pyproject.toml): the tests that share a
deployment run in one worker, in file order: the pods tests on the session's cluster, the docs tests on the
session's dev stack; every other module is its own group (its tests share at most a module-scoped deployment; the
pods scaling and upgrade tests and the prod runbook's test deploy clusters of their own). Every deployment has its
own name prefix and free ports, so groups never collide. The longest groups are handed out first
(docs/development.md has each file's share), so none of them starts last.
"""

import sys
from pathlib import Path

import pytest

REAL_REDIS_FIXTURES = {"deployment", "stable_deployment", "make_deployment", "loopback", "docker_engine", "pod_engine"}
SESSION_DEPLOYMENTS = {"cluster": "pods", "docker_stack": "docs dev stack"}  # a fixture -> its tests' group
LONGEST_FIRST = (
    "pods",
    "tests/pods/test_repair.py",
    "tests/pods/test_scaling.py",
    "tests/pods/test_renewal.py",
    "tests/pods/test_upgrade.py",
    "tests/docs/test_runbook_prod.py",
    "tests/pods/test_move.py",  # two clusters side by side: 1-3.5 min alone on 2 cores
    "tests/docker/test_scaling.py",
)
ROOT = Path(__file__).resolve().parents[1]


def xdist_group(item: pytest.Item) -> str:
    for fixture, group in SESSION_DEPLOYMENTS.items():
        if fixture in getattr(item, "fixturenames", ()):
            return group
    return Path(str(item.fspath)).resolve().relative_to(ROOT).as_posix()


def _start_order(item: pytest.Item) -> int:
    group = xdist_group(item)
    return LONGEST_FIRST.index(group) if group in LONGEST_FIRST else len(LONGEST_FIRST)


# tryfirst: pytest-xdist reads the groups in its own pytest_collection_modifyitems, which otherwise runs before this
# one (this conftest is registered first, and hooks run last-registered first).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        uses_real_redis = REAL_REDIS_FIXTURES & set(getattr(item, "fixturenames", ()))
        if uses_real_redis or item.get_closest_marker("docker") or item.get_closest_marker("pods"):
            item.add_marker(pytest.mark.integration)
        item.add_marker(pytest.mark.xdist_group(xdist_group(item)))
    items.sort(key=_start_order)  # stable: file order within a group


@pytest.fixture(scope="session", autouse=True)
def nothing_the_suite_started_outlives_it():
    """Every process the loopback harness started (tagged with its run id, harness/local.py) has ended by the end of
    the session (of each pytest-xdist worker: each has its own run id); anything left is killed and reported as an
    error."""
    yield
    local = sys.modules.get("harness.local")
    if local is not None:
        left = local.end_leftovers()
        assert not left, f"processes started by the suite outlived it (now killed): {left}"
