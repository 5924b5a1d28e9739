"""What one mocked run of the prod stack declares, as the API server would hold it (harness/pod_runner.py)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.pod_fields import (
    BUDGET,
    CONFIG_MAP,
    DYNAMIC,
    JOB,
    JOB_SPEC,
    ROLLOUT_SUFFIX,
    SECRET,
    SERVICE,
    STATEFULSET,
    STATEFULSET_SPEC,
    check_fields,
)
from harness.program import Program, as_ints


@dataclass
class Workload:
    kind: str  # StatefulSet or Job
    name: str
    spec: dict
    labels: dict

    @property
    def template(self) -> dict:
        return self.spec["template"]


@dataclass
class Declared:
    """What one run of the program declares, as the API server would hold it."""

    namespace: str
    statefulsets: list[Workload]
    job: Workload
    config_maps: dict[str, dict[str, str]]
    secrets: dict[str, dict[str, str]]
    services: dict[str, dict]
    budgets: dict[str, dict]  # PodDisruptionBudget name -> spec
    rollout: dict | None  # RedisRollout's inputs

    @classmethod
    def of(cls, program: Program) -> Declared:
        objects = {
            kind: [as_ints(r.plain) for r in program.resources if r.type == kind]
            for kind in (STATEFULSET, JOB, CONFIG_MAP, SECRET, SERVICE, BUDGET)
        }
        statefulsets = [
            Workload("StatefulSet", o["metadata"]["name"], o["spec"], o["spec"]["template"]["metadata"]["labels"])
            for o in objects[STATEFULSET]
        ]
        (job,) = [Workload("Job", o["metadata"]["name"], o["spec"], {}) for o in objects[JOB]]
        for workload in [*statefulsets, job]:
            check_fields(workload.spec, STATEFULSET_SPEC if workload.kind == "StatefulSet" else JOB_SPEC, workload.name)
        (namespace,) = {o["metadata"]["namespace"] for kind in objects.values() for o in kind}
        return cls(
            namespace=namespace,
            statefulsets=statefulsets,
            job=job,
            config_maps={o["metadata"]["name"]: o["data"] for o in objects[CONFIG_MAP]},
            secrets={o["metadata"]["name"]: o["stringData"] for o in objects[SECRET]},
            services={o["metadata"]["name"]: o["spec"] for o in objects[SERVICE]},
            budgets={o["metadata"]["name"]: o["spec"] for o in objects[BUDGET]},
            rollout=next(
                (as_ints(r.plain) for r in program.resources if r.type == DYNAMIC and r.name.endswith(ROLLOUT_SUFFIX)),
                None,
            ),
        )

    def statefulset(self, name: str) -> Workload:
        (found,) = [s for s in self.statefulsets if s.name == name]
        return found
