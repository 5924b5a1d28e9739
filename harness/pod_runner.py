"""Runs the prod stack's pods for real: every container of the declared StatefulSets' pod specs (and the check
Job's) as Docker containers, under the pod spec's security context, for tests/pods and bench/pods.py.

`__main__.py` runs under Pulumi mocks with the real Pulumi.prod.yaml plus overrides (local images, a unique
namespace); the declared StatefulSets, Services, ConfigMaps, Secrets and the Job are then run the way the
kubelet and the controllers would run them on one node (docs/prod-pods.md says what is modelled and what not):

- a pod is a holder container (the Redis image running `sleep infinity`, under the pod's security context) that
  owns the network namespace, on one labelled network, with the pod's DNS name through its headless Service
  (`<pod>.<service>.<namespace>.svc.cluster.local`) as an alias from the moment it exists
  (`publishNotReadyAddresses`); every container of the spec joins it (`network_mode=container:<holder>`);
- ConfigMap and Secret volumes are labelled volumes holding the files with the declared modes, owned
  root:fsGroup, mounted read-only; `emptyDir` with `medium: Memory` is a tmpfs of `sizeLimit`; the
  `volumeClaimTemplates` volume is a labelled volume per pod (kept when the pod is deleted), given to fsGroup as
  the kubelet does (group fsGroup, g+rwX, setgid directories);
- the container's user and group, fsGroup as a supplementary group, a read-only root filesystem, the dropped
  capabilities, no-new-privileges; memory and CPU limits;
- env with `valueFrom` (`fieldRef` metadata.name / metadata.namespace, `secretKeyRef`) and Kubernetes' `$(VAR)`
  expansion in env values, command and args; `command` replaces the image's entrypoint, `args` its CMD;
- probes as the kubelet runs them: exec in the container and httpGet to the pod's port, at their period, with
  their timeout and thresholds, liveness and readiness only once the startup probe passed; a failed liveness or
  startup probe restarts the container (preStop, SIGTERM, SIGKILL after the grace period, start);
- deleting a pod as the kubelet does: preStop, then SIGTERM, SIGKILL once terminationGracePeriodSeconds is spent.

A field the runner does not implement (anywhere in a StatefulSet or Job spec) is an error naming its path.
Every port a pod's containers declare is published on 127.0.0.1 (the host reaches the pods only that way).
Everything created carries the label festival-redis.test=<run id> and is removed by teardown(); an object of the
same name without that label is never touched.

The runner lives in siblings, one a section: harness/pod_fields.py (what it implements), harness/pod_declared.py
(what a run declares), harness/pod_kubelet.py (a pod), harness/pod_cluster.py (PodCluster) and
harness/pod_adapters.py (what the product's code drives the pods through). This module names them all.
"""

from harness.engine import EXPORTER_IMAGE, REDIS_IMAGE
from harness.pod_adapters import RunnerPods
from harness.pod_cluster import JobRun, PodCluster, Rollout, default_overrides
from harness.pod_declared import Declared, Workload
from harness.pod_fields import (
    ANY,
    BUDGET,
    CHECK_SCRIPT,
    CONFIG_MAP,
    DEFAULT_GRACE,
    DYNAMIC,
    IMAGE_VOLUMES_OF_HOLDER,
    JOB,
    JOB_SPEC,
    MIN_GRACE_AFTER_PRESTOP,
    PASSWORDS_SUFFIX,
    REQUIRED_VALUES,
    ROLLOUT_SUFFIX,
    SECRET,
    SERVICE,
    STATEFULSET,
    STATEFULSET_SPEC,
    NotOurs,
    UnimplementedField,
    check_fields,
    cpu_nanos,
    expand,
    quantity_bytes,
)
from harness.pod_kubelet import Pod, ProbeResult
from harness.runtime import NO_RETRY

__all__ = [
    "ANY",
    "BUDGET",
    "CHECK_SCRIPT",
    "CONFIG_MAP",
    "DEFAULT_GRACE",
    "DYNAMIC",
    "Declared",
    "EXPORTER_IMAGE",
    "IMAGE_VOLUMES_OF_HOLDER",
    "JOB",
    "JOB_SPEC",
    "JobRun",
    "MIN_GRACE_AFTER_PRESTOP",
    "NO_RETRY",
    "NotOurs",
    "PASSWORDS_SUFFIX",
    "Pod",
    "PodCluster",
    "ProbeResult",
    "REDIS_IMAGE",
    "REQUIRED_VALUES",
    "ROLLOUT_SUFFIX",
    "Rollout",
    "RunnerPods",
    "SECRET",
    "SERVICE",
    "STATEFULSET",
    "STATEFULSET_SPEC",
    "UnimplementedField",
    "Workload",
    "check_fields",
    "cpu_nanos",
    "default_overrides",
    "expand",
    "quantity_bytes",
]
