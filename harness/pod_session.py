"""What the pods tests (tests/pods) and the prod runbook's test share: the figures they measure, the bounds of a
hand-over, and a cluster deployed for a test and always torn down."""

from __future__ import annotations

import contextlib

from components import render
from components.checks import HEALTHY

FIGURES: dict[str, object] = {}  # measured figures, printed at the end of the session

# A hand-over is shown by prestop.sh's own report (HANDED_OVER). The write pause it causes is bounded by the hook's
# own limit: once preStop returns the master is gone and clients find the new one (1.1-2.4 s measured on 2 busy
# cores at load 4-5, 3.5-5.7 s at load 20-25). The measured gap is printed beside the bench target, which bench/
# measures.
HANDED_OVER = "handed the master role over"
HANDOVER_BOUND = render.PRESTOP_MAX_SECONDS


@contextlib.contextmanager
def running_cluster(**overrides):
    """The prod stack's pods (with these config overrides), deployed and ready; torn down on exit, also after a
    failing test, and the teardown checked to have left nothing."""
    from harness.pod_runner import PodCluster  # on use: the engine's modules only where a cluster is made

    made = PodCluster(**overrides)
    try:
        FIGURES["pod start to ready (s)"] = {pod: round(s, 1) for pod, s in made.deploy(timeout=120).items()}
        yield made
    finally:
        try:
            made.teardown()
        finally:
            left = made.leftovers()
            print("\nfigures:", FIGURES)
            assert left == [], f"teardown left {left}"


def assert_healthy(cluster):
    report = cluster.check(settle_seconds=30)
    assert report.status == HEALTHY, f"{report.summary()}\n{cluster.logs()}"
    return cluster
