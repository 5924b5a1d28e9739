"""KubernetesPlatform: runs the node groups as StatefulSets in the prod cluster (objects from manifests.py and
monitoring.py, names from names.py).

One kubernetes Provider, set on this component: its own children (namespace, Secrets, Services, budgets,
policies, monitoring, the check Job) inherit it; the per-group objects are parented to the group's
component (RedisMaster, ...), which does not carry it, so they are given the same Provider explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components import render, tls, users
from components.kubernetes import access, manifests, monitoring, names
from components.kubernetes.rollout import RedisRollout
from components.kubernetes.storage_guard import StorageGuard
from components.platform import NodeGroup, Platform
from components.settings import Settings, SettingsError
from components.topology import REDIS_PORT, SENTINEL_PORT


class KubernetesPlatform(Platform):
    TYPE = "festival:kubernetes:Platform"
    # The master's StatefulSet first (its pod is the bootstrap master the others find), then the replicas', then the
    # Sentinels' (they resolve the nodes' names at boot). On a new stack each waits for the pods of the one before to
    # be ready. A change updates them in this order too, but they update `OnDelete`: no pod is replaced until
    # RedisRollout (roll_out) replaces them, in its own order.
    GROUP_ORDER = ("master", "replica", "sentinel")

    def __init__(self, name: str, settings: Settings, *args, opts: pulumi.ResourceOptions | None = None, **kwargs):
        """As every Platform (`args`: topology, files, credentials; `kwargs`: certificates), with the cluster's
        Provider set."""
        if settings.platform != "kubernetes":
            raise ValueError(f"KubernetesPlatform needs platform 'kubernetes', got {settings.platform!r}")
        # enable_secret_mutable: a Secret whose data changes (a password rotated, a certificate renewed, nodes added)
        # is patched in place. Without it pulumi-kubernetes replaces the Secret (its diff.go forceNewProperties), and
        # Pulumi refuses to replace the protected `redis-users` and `redis-secret`: every such `pulumi up` would stop.
        self.provider = k8s.Provider(
            f"{name}-provider",
            context=_provider_context(settings),
            enable_secret_mutable=True,
            opts=pulumi.ResourceOptions(parent=opts and opts.parent),
        )
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[self.provider]))
        super().__init__(name, settings, *args, opts, **kwargs)

    def _declare_shared(self, name: str) -> dict[str, pulumi.Input]:
        # What holds data or identity: pulumi destroy, or a change that would replace it, stops with Pulumi's
        # "marked for protection" message instead of deleting (docs/prod.md#destroy).
        self._keep = pulumi.ResourceOptions(protect=self.settings.protects_data)
        StorageGuard(f"{name}-storage-guard", self.settings, opts=pulumi.ResourceOptions(parent=self))
        self._namespace(name)
        self._secrets(name)
        self._services(name)
        self._policies(name)
        if self.settings.prometheus_operator:
            self._monitoring(name)
        return {}

    def _namespace(self, name: str) -> None:
        """The namespace, unless adopted; every namespaced object waits for it (`_opts`)."""
        if self.settings.create_namespace:
            ns = manifests.namespace(self.settings)
            self.namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata=ns["metadata"],
                opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=self), self._keep),
            )
            self._after_namespace = [self.namespace]
        else:
            self._after_namespace = []  # adopted: it exists already

    def _secrets(self, name: str) -> None:
        """The three Secrets, and the digests of the passwords and of the certificates."""
        settings, credentials = self.settings, self.credentials
        # Applications read `redis-secret` (their users' passwords only); the pods mount `redis-users` (every user's).
        app_passwords = {
            render.REDIS_PASSWORD_KEY: credentials.redis_password,
            render.SENTINEL_PASSWORD_KEY: credentials.sentinel_password,
        }
        passwords = credentials.of_users()
        secret_files = credentials.secret_files()
        # With TLS, the certificates and keys (components/certificates.py) go with the passwords; applications get
        # the CA certificate beside their passwords.
        tls_files = self.certificates.files if self.certificates else {}
        ca_file = {tls.CA_FILE: self.certificates.ca_cert} if self.certificates else {}
        self.secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=manifests.meta(settings, names.SECRET_NAME),
            type="Opaque",
            string_data={**{key: pulumi.Output.secret(value) for key, value in app_passwords.items()}, **ca_file},
            opts=pulumi.ResourceOptions.merge(self._opts(), self._keep),
        )
        self.nodes_secret = k8s.core.v1.Secret(
            f"{name}-users-secret",
            metadata=manifests.meta(settings, names.NODES_SECRET_NAME),
            type="Opaque",
            string_data={**{key: pulumi.Output.secret(value) for key, value in secret_files.items()}, **tls_files},
            opts=pulumi.ResourceOptions.merge(self._opts(), self._keep),
        )
        exporter_auth = pulumi.Output.all(
            passwords[users.EXPORTER.key], passwords[users.SENTINEL_EXPORTER.key], *ca_file.values()
        ).apply(lambda values: {**manifests.exporter_auth(settings, *values[:2]), **dict(zip(ca_file, values[2:]))})
        self.exporter_secret = k8s.core.v1.Secret(
            f"{name}-exporter-secret",
            metadata=manifests.meta(settings, names.EXPORTER_SECRET_NAME),
            type="Opaque",
            string_data=pulumi.Output.secret(exporter_auth),
            opts=self._opts(),
        )
        # A digest of the passwords is no secret (32 random characters each): the check Job's name shows it.
        self.secret_checksum = pulumi.Output.unsecret(
            pulumi.Output.all(*secret_files.values()).apply(
                lambda values: manifests.checksum(dict(zip(secret_files, values)))
            )
        )
        # The certificates' digest (not the keys'): a renewed certificate rolls the pods (RedisRollout), which read
        # their certificates at boot.
        certificates = {file: pem for file, pem in tls_files.items() if file.endswith(".crt")}
        self.tls_checksum = pulumi.Output.all(*certificates.values()).apply(
            lambda pems: manifests.checksum(dict(zip(certificates, pems))) if pems else ""
        )

    def _services(self, name: str) -> None:
        """The Services applications reach the Sentinels and the replicas by."""
        services = {"sentinel-service": manifests.sentinel_service(self.settings)}
        if self.settings.replica_count:
            services["replica-service"] = manifests.replica_service(self.settings)
        for key, service in services.items():
            k8s.core.v1.Service(f"{name}-{key}", metadata=service["metadata"], spec=service["spec"], opts=self._opts())

    def _policies(self, name: str) -> None:
        """The PodDisruptionBudgets and the NetworkPolicy."""
        for budget in manifests.disruption_budgets(self.settings):
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-{budget['metadata']['name']}-pdb",
                metadata=budget["metadata"],
                spec=budget["spec"],
                opts=self._opts(),
            )
        policy = manifests.network_policy(self.settings)
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy", metadata=policy["metadata"], spec=policy["spec"], opts=self._opts()
        )

    def _monitoring(self, name: str) -> None:
        """The Prometheus Operator's resources (prometheusOperator): the ServiceMonitor, the rules and, with TLS, the
        certificate probe."""
        settings = self.settings
        resources = [
            ("service-monitor", monitoring.service_monitor(settings)),
            ("prometheus-rule", monitoring.prometheus_rule(settings)),
        ]
        if settings.tls_enabled:
            resources.append(("tls-probe", monitoring.tls_probe(settings)))
        for key, resource in resources:
            k8s.apiextensions.CustomResource(
                f"{name}-{key}",
                api_version=resource["apiVersion"],
                kind=resource["kind"],
                metadata=resource["metadata"],
                spec=resource["spec"],
                opts=self._opts(),
            )

    def _opts(self, parent: pulumi.Resource | None = None, depends_on: Sequence = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=parent or self,
            provider=self.provider if parent is not None else None,
            depends_on=[*self._after_namespace, *depends_on],
        )

    def run(self, owner: pulumi.Resource, name: str, group: NodeGroup) -> list[pulumi.Resource]:
        """A ConfigMap, a headless Service and a StatefulSet for the group (none for an empty group).

        The StatefulSet waits for the groups of `group.after` (GROUP_ORDER). It updates `OnDelete`: a change of its
        pod template replaces no pod; roll_out does.
        """
        if not group.nodes:
            return []
        settings, files = self.settings, self.files.for_role(group.role)
        cm = manifests.config_map(settings, group.role, files)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config", metadata=cm["metadata"], data=cm["data"], immutable=True, opts=self._opts(owner)
        )
        service = manifests.headless_service(settings, group.role)
        headless = k8s.core.v1.Service(
            f"{name}-headless", metadata=service["metadata"], spec=service["spec"], opts=self._opts(owner)
        )
        sts = manifests.statefulset(
            settings,
            group.role,
            len(group.nodes),
            cm["metadata"]["name"],
            manifests.checksum(files),
            self.tls_checksum,
        )
        # Waits for a rollout scale with the data each pod loads and syncs; Pulumi's default is 10 minutes.
        minutes = f"{manifests.rollout_timeout_minutes(settings, len(group.nodes))}m"
        statefulset = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=sts["metadata"],
            spec=sts["spec"],
            opts=pulumi.ResourceOptions.merge(
                self._opts(owner, [config_map, headless, self.nodes_secret, self.exporter_secret, *group.after]),
                pulumi.ResourceOptions(
                    protect=settings.protects_data,
                    custom_timeouts=pulumi.CustomTimeouts(create=minutes, update=minutes),
                ),
            ),
        )
        return [statefulset]

    def _script_target(self) -> dict[str, pulumi.Input]:
        # An exec into the server container of each pod, with the stack's kube context.
        containers = {node.name: "sentinel" if node.role == "sentinel" else "redis" for node in self.topology.nodes}
        settings = self.settings
        return {
            "platform": "kubernetes",
            "context": settings.kube_context,
            "namespace": settings.namespace,
            "containers": containers,
        }

    def roll_out(self, name: str, after: Sequence[pulumi.Resource]) -> list[pulumi.Resource]:
        """RedisRollout (components/kubernetes/rollout.py): replaces the pods whose StatefulSet's template changed,
        the Sentinels first (the Redis pods' hand-over goes through the new Sentinels), then the Redis pods, the
        replicas first and the master last."""
        settings, topology = self.settings, self.topology
        templates = self._template_checksums()
        redis_roles = [role for role in templates if role != "sentinel"]
        rollout = RedisRollout(
            name,
            context=settings.kube_context,
            namespace=settings.namespace,
            statefulsets=[names.workload_name(role) for role in redis_roles],
            pods=len(topology.redis_nodes),
            sentinel_statefulsets=[names.workload_name("sentinel")],
            sentinel_pods=len(topology.sentinels),
            quorum=settings.quorum,
            min_replicas_to_write=settings.min_replicas_to_write,
            pod_timeout_seconds=60 * manifests.rollout_timeout_minutes(settings, 1),
            revision=self.tls_checksum.apply(
                lambda tls_sum: manifests.checksum(*templates.values(), *filter(None, [tls_sum]))
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)),
        )
        return [rollout]

    def verify(self, name: str, after: Sequence[pulumi.Resource]) -> pulumi.Output[str]:
        """The check Job, with its ConfigMap; Pulumi awaits its completion.

        Its name changes with everything the pods roll out and with the passwords, so the check runs again after
        every change.
        """
        settings, files = self.settings, self.files
        cm = manifests.config_map(settings, "check", files.check)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config", metadata=cm["metadata"], data=cm["data"], immutable=True, opts=self._opts()
        )
        templates = self._template_checksums()
        check_sum = manifests.checksum(files.check)
        job_name = pulumi.Output.all(self.secret_checksum, self.tls_checksum).apply(
            lambda sums: names.check_job_name(manifests.checksum(*templates.values(), check_sum, *filter(None, sums)))
        )
        job = manifests.check_job(settings, job_name, cm["metadata"]["name"])
        created = k8s.batch.v1.Job(
            f"{name}-job",
            metadata=job["metadata"],
            spec=job["spec"],
            opts=self._opts(depends_on=[config_map, self.nodes_secret, *after]),
        )
        return pulumi.Output.all(created.metadata.namespace, created.metadata.name, created.status).apply(
            lambda args: _job_summary(*args)
        )

    def _template_checksums(self) -> dict[str, str]:
        """By role with nodes: the digest of what its pods run, which a change rolls out (without the certificates')."""
        settings, topology, files = self.settings, self.topology, self.files
        return {
            role: manifests.rollout_checksum(settings, role, len(topology.of_role(role)), files.for_role(role))
            for role in ("master", "replica", "sentinel")
            if topology.of_role(role)
        }

    def stack_outputs(self) -> dict[str, pulumi.Input]:
        settings = self.settings
        return {
            "namespace": settings.namespace,
            "sentinelHost": names.sentinel_host(settings),
            "sentinelPort": SENTINEL_PORT,
            "sentinelEndpoints": [str(node.address) for node in self.topology.sentinels],
            "redisEndpoints": [str(node.address) for node in self.topology.redis_nodes],
            "readHost": names.replica_host(settings) if settings.replica_count else "",
            "readPort": REDIS_PORT,
            "secretName": names.SECRET_NAME,
            "redisPasswordKey": render.REDIS_PASSWORD_KEY,
            "sentinelPasswordKey": render.SENTINEL_PASSWORD_KEY,
            "appEnv": manifests.app_env(settings),
            "clientNamespaces": list(settings.client_namespace_names),
        }


def _provider_context(settings: Settings) -> str | None:
    """The Provider's context: the stack's, or none with `in-cluster`, where the provider (client-go) takes the pod's
    service account only when no context is named and no kubeconfig exists (tools/clientcmd
    merged_client_builder.go, DeferredLoadingClientConfig.ClientConfig; a named context that no kubeconfig holds is
    an error, not a fallback)."""
    if settings.kube_context != access.IN_CLUSTER:
        return settings.kube_context
    problem = access.in_cluster_problem(os.environ, Path.home(), access.SERVICE_ACCOUNT_TOKEN)
    if problem:
        raise SettingsError("kubeContext", settings.kube_context, f"needs the service account of a pod: {problem}")
    return None


def _job_summary(namespace: str, name: str, status) -> str:
    # The provider returns only once the Job completed: a failed check fails the update instead.
    state = "succeeded" if getattr(status, "succeeded", None) else "completed (awaited by the Kubernetes provider)"
    return f"job {namespace}/{name} {state}: every replication invariant holds (kubectl logs -n {namespace} job/{name})"
