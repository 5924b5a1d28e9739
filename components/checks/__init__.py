"""Post-deploy replication checks: the invariants of a healthy deployment (invariants.py, pure), observed over
the network with redis-py (observe.py). They run at the end of every `pulumi up` of the dev stack (resource.py)
and from the command line (cli.py: `python -m components.checks`).

Re-exports the pure invariants only, so that importing them loads no redis-py: Target and check_deployment are in
components/checks/observe.py."""

from components.checks.invariants import (
    CERTIFICATE_DAYS_LEFT,
    EXIT_CODES,
    HEALTHY,
    SETTLE_SECONDS,
    UNHEALTHY,
    UNREACHABLE,
    CertificateView,
    Failure,
    Observation,
    RedisView,
    Report,
    SentinelView,
    evaluate,
)

__all__ = [
    "CERTIFICATE_DAYS_LEFT",
    "EXIT_CODES",
    "HEALTHY",
    "SETTLE_SECONDS",
    "UNHEALTHY",
    "UNREACHABLE",
    "CertificateView",
    "Failure",
    "Observation",
    "RedisView",
    "Report",
    "SentinelView",
    "evaluate",
]
