"""KubernetesPlatform: runs the node groups as StatefulSets in the prod cluster (manifests in kubernetes/manifests.py).

One kubernetes Provider, set on this component: its own children (namespace, Secrets, Services, budgets,
policies, monitoring, the check Job) inherit it; the per-group objects are parented to the group's
component (RedisMaster, ...), which does not carry it, so they are given the same Provider explicitly.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s

from components import render
from components.kubernetes import manifests
from components.platform import Credentials, NodeGroup, Platform
from components.settings import Settings
from components.topology import REDIS_PORT, SENTINEL_PORT, cluster_host, kubernetes_topology


class KubernetesPlatform(Platform):
    TYPE = "festival:kubernetes:Platform"

    def __init__(
        self, name: str, settings: Settings, credentials: Credentials, opts: pulumi.ResourceOptions | None = None
    ):
        if settings.platform != "kubernetes":
            raise ValueError(f"KubernetesPlatform needs platform 'kubernetes', got {settings.platform!r}")
        self.provider = k8s.Provider(f"{name}-provider", opts=pulumi.ResourceOptions(parent=opts and opts.parent))
        super().__init__(
            self.TYPE, name, None, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[self.provider]))
        )
        self.settings = settings
        self.topology = kubernetes_topology(settings)
        self._statefulsets: list[k8s.apps.v1.StatefulSet] = []
        self._rollout_sums: list[str] = []  # one per StatefulSet: its pod template, without the Secret checksum
        child = pulumi.ResourceOptions(parent=self)

        if settings.create_namespace:
            ns = manifests.namespace(settings)
            self.namespace = k8s.core.v1.Namespace(f"{name}-namespace", metadata=ns["metadata"], opts=child)
            # Every namespaced object waits for the namespace it names.
            self._after_namespace = [self.namespace]
        else:
            self._after_namespace = []  # adopted: it exists already

        passwords = {
            render.REDIS_PASSWORD_KEY: credentials.redis_password,
            render.SENTINEL_PASSWORD_KEY: credentials.sentinel_password,
        }
        self.secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=self._meta(manifests.SECRET_NAME),
            type="Opaque",
            string_data={key: pulumi.Output.secret(value) for key, value in passwords.items()},
            opts=self._opts(),
        )
        exporter_auth = pulumi.Output.all(credentials.redis_password, credentials.sentinel_password).apply(
            lambda values: manifests.exporter_auth(*values)
        )
        self.exporter_secret = k8s.core.v1.Secret(
            f"{name}-exporter-secret",
            metadata=self._meta(manifests.EXPORTER_SECRET_NAME),
            type="Opaque",
            string_data=pulumi.Output.secret(exporter_auth),
            opts=self._opts(),
        )
        # A digest of the passwords is no secret (32 random characters each), and pods must show it.
        self.secret_checksum = pulumi.Output.unsecret(
            pulumi.Output.all(*passwords.values()).apply(
                lambda values: manifests.checksum(dict(zip(passwords, values)))
            )
        )

        services = {"sentinel-service": manifests.sentinel_service(settings)}
        if settings.replica_count:
            services["replica-service"] = manifests.replica_service(settings)
        for key, service in services.items():
            k8s.core.v1.Service(f"{name}-{key}", metadata=service["metadata"], spec=service["spec"], opts=self._opts())
        for budget in manifests.disruption_budgets(settings):
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-{budget['metadata']['name']}-pdb",
                metadata=budget["metadata"],
                spec=budget["spec"],
                opts=self._opts(),
            )
        policy = manifests.network_policy(settings)
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy", metadata=policy["metadata"], spec=policy["spec"], opts=self._opts()
        )
        if settings.prometheus_operator:
            for key, resource in (
                ("service-monitor", manifests.service_monitor(settings)),
                ("prometheus-rule", manifests.prometheus_rule(settings)),
            ):
                k8s.apiextensions.CustomResource(
                    f"{name}-{key}",
                    api_version=resource["apiVersion"],
                    kind=resource["kind"],
                    metadata=resource["metadata"],
                    spec=resource["spec"],
                    opts=self._opts(),
                )
        self.register_outputs({})

    def _meta(self, name: str) -> dict:
        return {"name": name, "namespace": self.settings.namespace, "labels": dict(manifests.PART_OF)}

    def _opts(self, parent: pulumi.Resource | None = None, depends_on: list | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=parent or self,
            provider=self.provider if parent is not None else None,
            depends_on=[*self._after_namespace, *(depends_on or [])],
        )

    def run(self, owner: pulumi.Resource, name: str, group: NodeGroup) -> list[pulumi.Resource]:
        """A ConfigMap, a headless Service and a StatefulSet for the group (none for an empty group).

        Each StatefulSet waits for the one declared before it (master, replicas, Sentinels): a config change
        then rolls one group at a time, never the master's and a replica's pods together.
        """
        if not group.nodes:
            return []
        cm = manifests.config_map(self.settings, group.role, group.files)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config", metadata=cm["metadata"], data=cm["data"], immutable=True, opts=self._opts(owner)
        )
        service = manifests.headless_service_manifest(self.settings, group.role)
        headless = k8s.core.v1.Service(
            f"{name}-headless", metadata=service["metadata"], spec=service["spec"], opts=self._opts(owner)
        )
        config_sum = manifests.checksum(group.files)
        cm_name = cm["metadata"]["name"]
        plain = manifests.statefulset(self.settings, group.role, len(group.nodes), cm_name, config_sum, "")
        self._rollout_sums.append(manifests.checksum(json.dumps(plain, sort_keys=True)))
        sts = manifests.statefulset(
            self.settings, group.role, len(group.nodes), cm_name, config_sum, self.secret_checksum
        )
        statefulset = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=sts["metadata"],
            spec=sts["spec"],
            opts=self._opts(owner, [config_map, headless, self.secret, self.exporter_secret, *self._statefulsets[-1:]]),
        )
        self._statefulsets.append(statefulset)
        return [statefulset]

    def verify(self, name: str, groups: list[pulumi.ComponentResource]) -> pulumi.Output[str]:
        """The check Job, after every group's StatefulSet is ready; Pulumi awaits its completion."""
        files = render.check_files(self.settings, self.topology)
        cm = manifests.config_map(self.settings, "check", files)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config", metadata=cm["metadata"], data=cm["data"], immutable=True, opts=self._opts()
        )
        sums = [*self._rollout_sums, manifests.checksum(files)]
        job_name = self.secret_checksum.apply(lambda secret_sum: manifests.check_job_name(*sums, secret_sum))
        job = manifests.check_job(self.settings, job_name, cm["metadata"]["name"])
        created = k8s.batch.v1.Job(
            f"{name}-job",
            metadata=job["metadata"],
            spec=job["spec"],
            opts=self._opts(depends_on=[config_map, self.secret, *groups]),
        )
        return pulumi.Output.all(created.metadata.namespace, created.metadata.name, created.status).apply(
            lambda args: _job_summary(*args)
        )

    def stack_outputs(self) -> dict[str, pulumi.Input]:
        settings = self.settings
        return {
            "namespace": settings.namespace,
            "sentinelHost": manifests.sentinel_host(settings),
            "sentinelPort": SENTINEL_PORT,
            "sentinelEndpoints": [str(node.address) for node in self.topology.sentinels],
            "redisEndpoints": [str(node.address) for node in self.topology.redis_nodes],
            "readHost": cluster_host(manifests.REPLICA_SERVICE, settings.namespace) if settings.replica_count else "",
            "readPort": REDIS_PORT,
            "secretName": manifests.SECRET_NAME,
            "redisPasswordKey": render.REDIS_PASSWORD_KEY,
            "sentinelPasswordKey": render.SENTINEL_PASSWORD_KEY,
            "appEnv": manifests.app_env(settings),
        }


def _job_summary(namespace: str, name: str, status) -> str:
    # The provider returns only once the Job completed: a failed check fails the update instead.
    state = "succeeded" if getattr(status, "succeeded", None) else "completed (awaited by the Kubernetes provider)"
    return f"job {namespace}/{name} {state}: every replication invariant holds (kubectl logs -n {namespace} job/{name})"
