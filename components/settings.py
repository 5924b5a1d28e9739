"""The typed, validated model of one deployment, read from stack config.

Every rule lives here and runs before any resource is registered. Defaults are the values of the platform
team's original setup (docs/reference.md#settings) and must equal the `config:` defaults declared in Pulumi.yaml
(a test keeps the two in step).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components import tls as tls_parameters
from components import users

EVICTION_POLICIES = (
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
)
APPENDFSYNC_MODES = ("always", "everysec", "no")
PLATFORMS = ("docker", "kubernetes")
TLS_MODES = ("auto", "true", "false")
ANTI_AFFINITIES = ("required", "preferred")
CONFIG_NAMESPACE = "festival-redis"  # of the stack config keys: festival-redis:replicaCount ...
IN_CLUSTER = "in-cluster"  # kubeContext: the service account of the pod that runs `pulumi`, no kubeconfig
LABEL = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
MEMORY_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
K8S_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$")
K8S_QUANTITY_UNITS = {
    "": 1,
    "m": 1e-3,
    **{unit: 1000**power for power, unit in enumerate("kMGTPE", 1)},
    **{f"{unit}i": 1024**power for power, unit in enumerate("KMGTPE", 1)},
}
K8S_VERSION = re.compile(r"^1\.[0-9]{2}$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MASTER_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
IMAGE_REF = re.compile(r"^[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?$")
# dnsEgress: where the pods may send DNS lookups. "any": any destination on the DNS ports; else a list of these named
# cluster DNS set-ups (components/kubernetes/manifests.py DNS_PEERS) and CIDRs.
DNS_EGRESS_ANY = "any"
DNS_EGRESS_NAMED = ("kube-dns", "openshift-dns")
DNS_WAIT_SECONDS = 60
SENTINEL_START_SECONDS = 60  # after DNS: write the config, start, find the peers
REDIS_LOAD_SECONDS = 120  # after the role wait: load the dataset from disk and sync from the master


class SettingsError(ValueError):
    """A stack config value broke a rule. The message names the key, the value and the rule."""

    def __init__(self, key: str, value: Any, rule: str):
        self.key, self.value, self.rule = key, value, rule
        super().__init__(f"{CONFIG_NAMESPACE}:{key} = {value!r}: {rule}")


def parse_memory(text: str) -> int:
    """Bytes in a Redis memory size ('512mb', '1gb', '1048576'); ValueError when malformed."""
    match = re.fullmatch(r"([0-9]+)\s*([a-zA-Z]*)", str(text).strip())
    if not match or match.group(2).lower() not in MEMORY_UNITS:
        raise ValueError(f"not a Redis memory size: {text!r}")
    return int(match.group(1)) * MEMORY_UNITS[match.group(2).lower()]


def parse_save_points(text: str) -> tuple[tuple[int, int], ...]:
    """'900 1 300 10' -> ((900, 1), (300, 10)); '' disables RDB snapshots."""
    words = str(text).split()
    if len(words) % 2 or not all(w.isdigit() and int(w) > 0 for w in words):
        raise ValueError(f"not pairs of positive '<seconds> <changes>': {text!r}")
    return tuple((int(words[i]), int(words[i + 1])) for i in range(0, len(words), 2))


@dataclass(frozen=True)
class Settings:
    # Topology: 1 master, 2 replicas, 3 Sentinels, quorum 2
    platform: str = "docker"
    name_prefix: str = "festival"
    master_name: str = "festival-master"
    replica_count: int = 2
    sentinel_count: int = 3
    quorum: int = 2
    # Sentinel timings
    down_after_milliseconds: int = 5000
    failover_timeout: int = 60000
    parallel_syncs: int = 1
    # Redis server
    maxmemory: str = "512mb"
    maxmemory_policy: str = "allkeys-lru"
    maxclients: int = 10000
    appendonly: bool = True
    appendfsync: str = "everysec"
    save_points: str = "900 1 300 10 60 10000"
    min_replicas_to_write: int = 1
    min_replicas_max_lag: int = 10
    allow_scripting: bool = False  # EVAL, SCRIPT, FUNCTION, FCALL and their variants; off: renamed away
    # Which generation of each user's password is deployed: 'KEY=N' or, while rotating, 'KEY=OLD+NEW' (docs/security.md)
    password_generations: str = ""
    redis_image: str = "redis:8.2.9-bookworm"
    # TLS-only nodes and Sentinels with the deployment's own CA (components/tls.py); auto: on for kubernetes
    tls: str = "auto"
    # Which CAs the nodes and clients trust, with tls on: 'N' or, while the CA is rotated, 'SIGNING+OTHER': the first
    # signs the nodes' certificates, every one listed is trusted (docs/security.md, "Rotating the CA")
    tls_ca_generations: str = "1"
    # The post-deploy check and the checks CLI fail when a node serves a certificate expiring sooner than this
    certificate_min_days_left: int = 14
    # How long a Redis node with data waits at boot for a Sentinel to name the master
    role_wait_seconds: int = 30
    # Docker (dev stack)
    dev_redis_port: int = 6379
    dev_sentinel_port: int = 26379
    debug_ui: bool = False
    debug_ui_port: int = 8081
    debug_ui_image: str = "ghcr.io/joeferner/redis-commander:0.9.0"
    dev_keep_volumes: bool = True  # pulumi destroy keeps the data volumes (retain_on_delete)
    dev_exporters: bool = False  # a redis_exporter container beside every node
    dev_exporter_port: int = 9121
    # Kubernetes (prod stack)
    namespace: str = "festival"
    create_namespace: bool = True
    cluster_domain: str = "cluster.local"  # the cluster's DNS domain (the kubelet's --cluster-domain)
    storage_class: str = "fast-ssd"
    storage_size: str = "10Gi"
    kubernetes_version: str = "1.29"
    prometheus_operator: bool = False
    exporter_image: str = "oliver006/redis_exporter:v1.62.0"
    kube_context: str = ""  # required on Kubernetes (a context, or IN_CLUSTER): never whatever context is current
    protect_data: bool = True
    anti_affinity: str = "required"
    priority_class_name: str = ""  # an existing PriorityClass for the Redis and Sentinel pods; empty: none (priority 0)
    client_namespaces: str = ""  # empty: the deployment's own namespace
    monitoring_namespace: str = "monitoring"
    prometheus_pod_selector: str = "app.kubernetes.io/name=prometheus"  # the pods that may scrape the exporters
    prometheus_labels: str = ""
    dns_egress: str = DNS_EGRESS_ANY
    # host:port of the Prometheus blackbox exporter that probes the nodes' TLS ports (certificate expiry); empty:
    # the prometheus-community chart's Service in monitoringNamespace
    blackbox_exporter_address: str = ""

    def __post_init__(self) -> None:
        # In this order, so that a later rule may rely on what an earlier one checked.
        _choices(self)
        _names(self)
        _topology(self)
        _timings(self)
        _server(self)
        _storage(self)
        _tls(self)
        _tls_ca_generations(self)
        _ports(self)
        _password_generations(self)
        _dns_egress(self)

    @property
    def tls_enabled(self) -> bool:
        return self.tls == "true" or (self.tls == "auto" and self.platform == "kubernetes")

    @property
    def blackbox_exporter(self) -> str:
        """Where Prometheus sends the nodes' TLS probes: blackboxExporterAddress, else the Service the
        prometheus-community/prometheus-blackbox-exporter chart makes (release prometheus-blackbox-exporter)."""
        return self.blackbox_exporter_address or f"prometheus-blackbox-exporter.{self.monitoring_namespace}.svc:9115"

    @property
    def maxmemory_bytes(self) -> int:
        return parse_memory(self.maxmemory)

    @property
    def storage_size_bytes(self) -> int:
        """storageSize (a Kubernetes quantity) in bytes."""
        number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", self.storage_size).groups()
        return int(float(number) * K8S_QUANTITY_UNITS[unit])

    @property
    def storage_needed_bytes(self) -> int:
        """What a Redis node's volume must hold at its peak, in copies of a full dataset (maxmemory).

        With appendonly, four: the AOF at its largest (the base and the increment files, rewritten when the increment
        has grown to the base's size: Redis' auto-aof-rewrite-percentage 100, which this project keeps), the new base
        a rewrite writes beside them until it ends, and an RDB file (the last snapshot, or the one a replica's full
        sync received, which a replica then rewrites the AOF beside). Without it, two: the RDB and the temporary one a
        BGSAVE or a full sync writes before it replaces it. An RDB is usually smaller than the dataset in memory, but
        incompressible values are not: the rule takes the dataset's size.
        """
        return (4 if self.appendonly else 2) * self.maxmemory_bytes

    @property
    def save_point_pairs(self) -> tuple[tuple[int, int], ...]:
        return parse_save_points(self.save_points)

    @property
    def redis_memory_limit_bytes(self) -> int:
        """A Redis container's memory limit, on both platforms: twice maxmemory, plus 64 MiB.

        With allkeys-lru the dataset sits at maxmemory, and every AOF rewrite, RDB save and full-sync fork runs its
        copy-on-write child in the same cgroup: Redis' documented worst case (every page written during the fork)
        is twice the dataset. Measured with the dataset at 80 % of 512mb under writes (bench/docker.py), the peak
        resident memory was 1.47 x the dataset (603 MiB, a replica's full resync; 530 MiB during an AOF rewrite),
        about 750 MiB at a full dataset: 2 x + 64 MiB (1088 MiB) covers the worst case, 45 % above that peak. An
        OOM kill would skip the preStop hand-over.
        """
        return 2 * self.maxmemory_bytes + 64 * 1024**2

    @property
    def protects_data(self) -> bool:
        """Protect what holds data or identity from deletion (protectData; prod only: the dev stack's lifecycle is
        pulumi destroy)."""
        return self.platform == "kubernetes" and self.protect_data

    @property
    def client_namespace_names(self) -> tuple[str, ...]:
        """Namespaces whose labelled pods may connect: clientNamespaces, else the deployment's own."""
        return tuple(name.strip() for name in self.client_namespaces.split(",") if name.strip()) or (self.namespace,)

    @property
    def prometheus_label_pairs(self) -> dict[str, str]:
        """prometheusLabels 'key=value,key=value' as a mapping."""
        return label_pairs(self.prometheus_labels)

    @property
    def prometheus_pod_labels(self) -> dict[str, str]:
        """prometheusPodSelector as a mapping: the labels a pod of monitoringNamespace needs to scrape."""
        return label_pairs(self.prometheus_pod_selector)

    @property
    def dns_egress_targets(self) -> tuple[str, ...]:
        """dnsEgress as a list of named set-ups and CIDRs; empty for 'any'."""
        items = tuple(item.strip() for item in self.dns_egress.split(",") if item.strip())
        return () if items == (DNS_EGRESS_ANY,) else items

    @property
    def password_generation_numbers(self) -> dict[str, tuple[int, ...]]:
        """passwordGenerations as users.User.key -> its generations, lowest first (one, or two while rotating); the
        highest is the current one. Keys not listed are at generation 1."""
        pairs = (pair.split("=", 1) for pair in self.password_generations.split(",") if pair.strip())
        return {key.strip(): tuple(sorted(int(n) for n in value.split("+"))) for key, value in pairs}

    @property
    def tls_ca_generation_numbers(self) -> tuple[int, ...]:
        """tlsCaGenerations as the CAs' generations, as listed: the first signs the nodes' certificates."""
        return tuple(int(n) for n in self.tls_ca_generations.split("+"))

    @property
    def dns_wait_seconds(self) -> int:
        """How long a Sentinel waits at boot for its master's name to resolve (a pod not yet created)."""
        return DNS_WAIT_SECONDS

    def boot_allowance_seconds(self, role: str) -> int:
        """How long a node may take from start until its probes pass, before a platform counts it as failing.

        A Redis node may wait role_wait_seconds for the Sentinels, then load its data and sync from its master;
        a Sentinel may wait dns_wait_seconds for the master's name to resolve, then find its peers.
        """
        if role == "sentinel":
            return self.dns_wait_seconds + SENTINEL_START_SECONDS
        return self.role_wait_seconds + REDIS_LOAD_SECONDS

    def dev_host_ports(self) -> dict[str, int]:
        """Every host port the dev stack publishes, by what uses it (components/docker/names.py gives the nodes and
        their exporters theirs)."""
        return {user: port for user, _, port in self._dev_host_port_layout()}

    def _dev_host_port_layout(self) -> list[tuple[str, str, int]]:
        """The one place of the dev stack's host port layout: (what uses it, the setting that places it, port)."""
        redis = ["redis master", *(f"redis replica {i}" for i in range(1, self.replica_count + 1))]
        sentinels = [f"sentinel {i}" for i in range(1, self.sentinel_count + 1)]
        layout = [(user, "dev_redis_port", self.dev_redis_port + i) for i, user in enumerate(redis)]
        layout += [(user, "dev_sentinel_port", self.dev_sentinel_port + i) for i, user in enumerate(sentinels)]
        if self.debug_ui:
            layout.append(("debug UI", "debug_ui_port", self.debug_ui_port))
        if self.dev_exporters:
            nodes = enumerate(redis + sentinels)
            layout += [(f"exporter of {node}", "dev_exporter_port", self.dev_exporter_port + i) for i, node in nodes]
        return layout

    @classmethod
    def from_config(cls, values: Mapping[str, Any]) -> Settings:
        """Build from stack config keys (camelCase, as in Pulumi.yaml); values may be strings."""
        by_key = {to_config_key(f.name): f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(by_key))
        if unknown:
            raise SettingsError(unknown[0], values[unknown[0]], f"unknown key; known keys: {', '.join(sorted(by_key))}")
        kwargs = {}
        for key, value in values.items():
            if value is None:
                continue
            f = by_key[key]
            kwargs[f.name] = _coerce(key, value, type(f.default))
        return cls(**kwargs)


def label_pairs(text: str) -> dict[str, str]:
    """'key=value,key=value' as a mapping."""
    pairs = (pair.split("=", 1) for pair in text.split(",") if pair.strip())
    return {key.strip(): value.strip() for key, value in pairs}


def to_config_key(field_name: str) -> str:
    head, *rest = field_name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _coerce(key: str, value: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "yes"):
            return True
        if str(value).lower() in ("false", "no"):
            return False
        raise SettingsError(key, value, "must be a boolean (true or false)")
    if kind is int:
        if isinstance(value, bool) or not re.fullmatch(r"-?[0-9]+(\.0+)?", str(value).strip()):
            raise SettingsError(key, value, "must be a whole number")
        return int(float(value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def _fail(settings: Settings, name: str, rule_text: str) -> None:
    raise SettingsError(to_config_key(name), getattr(settings, name), rule_text)


def _choices(s: Settings) -> None:
    for name, choices in (
        ("platform", PLATFORMS),
        ("maxmemory_policy", EVICTION_POLICIES),
        ("appendfsync", APPENDFSYNC_MODES),
        ("anti_affinity", ANTI_AFFINITIES),
        ("tls", TLS_MODES),
    ):
        if getattr(s, name) not in choices:
            _fail(s, name, f"must be one of {', '.join(choices)}")


def _names(s: Settings) -> None:
    if not DNS_LABEL.match(s.name_prefix) or len(s.name_prefix) > 40:
        _fail(s, "name_prefix", "must be a lowercase DNS label (a-z, 0-9, '-') of at most 40 characters")
    if not DNS_LABEL.match(s.namespace) or len(s.namespace) > 63:
        _fail(s, "namespace", "must be a lowercase DNS label of at most 63 characters")
    if not MASTER_NAME.match(s.master_name):
        _fail(s, "master_name", "must be letters, digits, '.', '_' or '-' (Sentinel takes it as one word)")
    for name in ("redis_image", "debug_ui_image", "exporter_image"):
        value = getattr(s, name)
        if not IMAGE_REF.match(value) or ":" not in value.rsplit("/", 1)[-1] or value.endswith(":latest"):
            _fail(s, name, "must be an image reference pinned to a tag other than 'latest' (e.g. redis:8.2.9-bookworm)")
    if not K8S_VERSION.match(s.kubernetes_version) or int(s.kubernetes_version.split(".")[1]) < 21:
        _fail(s, "kubernetes_version", "must be a Kubernetes minor version '1.NN', 1.21 or newer")
    domain_labels = s.cluster_domain.split(".")
    if len(s.cluster_domain) > 253 or not all(DNS_LABEL.match(label) and len(label) <= 63 for label in domain_labels):
        _fail(
            s,
            "cluster_domain",
            "must be the cluster's DNS domain: lowercase DNS labels separated by dots, no trailing dot "
            "(e.g. cluster.local)",
        )
    if not K8S_QUANTITY.match(s.storage_size):
        _fail(s, "storage_size", "must be a Kubernetes quantity such as 10Gi")
    if not DNS_LABEL.match(s.storage_class):
        _fail(s, "storage_class", "must be a StorageClass name (lowercase DNS label)")
    if s.priority_class_name and (
        not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", s.priority_class_name) or len(s.priority_class_name) > 253
    ):
        _fail(
            s,
            "priority_class_name",
            "must be the name of an existing PriorityClass (a lowercase DNS subdomain), or empty",
        )
    if s.platform == "kubernetes" and not re.fullmatch(r"[^\s]+", s.kube_context):
        _fail(
            s,
            "kube_context",
            "must name the kubeconfig context of the target cluster (kubectl config get-contexts), or be "
            f"'{IN_CLUSTER}' (the service account of the pod running pulumi): a prod stack never deploys to whatever "
            "context is current",
        )
    for name in (*(n.strip() for n in s.client_namespaces.split(",") if n.strip()), s.monitoring_namespace):
        if not DNS_LABEL.match(name) or len(name) > 63:
            key = "monitoring_namespace" if name == s.monitoring_namespace else "client_namespaces"
            _fail(s, key, "must be namespace names (lowercase DNS labels), separated by commas")
    for name in ("prometheus_labels", "prometheus_pod_selector"):
        for pair in (p for p in getattr(s, name).split(",") if p.strip()):
            key, sep, value = (part.strip() for part in pair.partition("="))
            if not sep or not LABEL.match(key) or (value and not LABEL.match(value)) or len(value) > 63:
                _fail(s, name, "must be Kubernetes labels 'key=value', separated by commas")
    if not s.prometheus_pod_labels:
        _fail(
            s,
            "prometheus_pod_selector",
            "must name at least one label 'key=value' (none would let every pod of monitoringNamespace scrape)",
        )


def _dns_egress(s: Settings) -> None:
    rule = (
        f"must be '{DNS_EGRESS_ANY}', or a comma-separated list of {', '.join(DNS_EGRESS_NAMED)} and IP networks in "
        "CIDR notation (e.g. 169.254.20.10/32)"
    )
    items = [item.strip() for item in s.dns_egress.split(",")]
    if items == [DNS_EGRESS_ANY]:
        return
    if DNS_EGRESS_ANY in items:
        _fail(s, "dns_egress", f"'{DNS_EGRESS_ANY}' allows every destination already: give it alone")
    for item in items:
        if item in DNS_EGRESS_NAMED:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            _fail(s, "dns_egress", f"{item!r} is not a named set-up nor a CIDR: {rule}")
        if "/" not in item:
            _fail(s, "dns_egress", f"{item!r} has no prefix length (e.g. {item}/32): {rule}")
        if network.network_address != ipaddress.ip_interface(item).ip:
            _fail(s, "dns_egress", f"{item!r} has host bits set: the network is {network}")


def _topology(s: Settings) -> None:
    if s.replica_count < 0 or s.replica_count > 9:
        _fail(s, "replica_count", "must be between 0 and 9")
    if s.sentinel_count < 1 or s.sentinel_count % 2 == 0 or s.sentinel_count > 9:
        _fail(s, "sentinel_count", "must be odd and between 1 and 9 (an even count adds no failure tolerance)")
    if s.quorum < 1 or s.quorum > s.sentinel_count:
        _fail(s, "quorum", f"must be between 1 and sentinelCount ({s.sentinel_count})")
    if s.quorum <= s.sentinel_count // 2:
        _fail(
            s,
            "quorum",
            f"must be a majority of sentinelCount ({s.sentinel_count}): at least {s.sentinel_count // 2 + 1}",
        )
    if s.parallel_syncs < 1 or s.parallel_syncs > max(1, s.replica_count):
        _fail(s, "parallel_syncs", f"must be between 1 and replicaCount ({s.replica_count}), at least 1")
    if s.min_replicas_to_write < 0 or s.min_replicas_to_write > s.replica_count:
        _fail(s, "min_replicas_to_write", f"must be between 0 and replicaCount ({s.replica_count})")
    if s.min_replicas_max_lag < 1 or s.min_replicas_max_lag > 3600:
        _fail(s, "min_replicas_max_lag", "must be between 1 and 3600 seconds")


def _timings(s: Settings) -> None:
    if not 500 <= s.down_after_milliseconds <= 600_000:
        _fail(s, "down_after_milliseconds", "must be between 500 and 600000 ms")
    if not 1000 <= s.failover_timeout <= 3_600_000:
        _fail(s, "failover_timeout", "must be between 1000 and 3600000 ms")
    if s.failover_timeout <= s.down_after_milliseconds:
        _fail(s, "failover_timeout", f"must be longer than downAfterMilliseconds ({s.down_after_milliseconds})")
    if not 0 <= s.role_wait_seconds <= 600:
        _fail(s, "role_wait_seconds", "must be between 0 and 600 seconds")


def _server(s: Settings) -> None:
    try:
        memory = s.maxmemory_bytes
    except ValueError:
        _fail(
            s, "maxmemory", "must be a Redis memory size: a whole number with an optional unit b, k, kb, m, mb, g, gb"
        )
    if memory < 1024**2:
        _fail(s, "maxmemory", "must be at least 1mb")
    if not 1 <= s.maxclients <= 100_000:
        _fail(s, "maxclients", "must be between 1 and 100000")
    try:
        parse_save_points(s.save_points)
    except ValueError:
        _fail(s, "save_points", "must be pairs of positive '<seconds> <changes>' (e.g. '900 1 300 10'), or '' for none")


def _storage(s: Settings) -> None:
    if s.platform != "kubernetes" or s.storage_size_bytes >= s.storage_needed_bytes:
        return
    copies = "4 x" if s.appendonly else "2 x"
    what = (
        "with appendonly on, a full AOF (base and increment files), the new base its rewrite writes, and an RDB file"
        if s.appendonly
        else "an RDB file and the temporary one a BGSAVE or a full sync writes beside it"
    )
    _fail(
        s,
        "storage_size",
        f"must hold {copies} maxmemory ({s.maxmemory}) = {s.storage_needed_bytes // 1024**2}Mi: {what}, each up to "
        "the dataset's size (a full disk stops writes with MISCONF); raise storageSize on a new stack, or lower "
        "maxmemory",
    )


def _tls(s: Settings) -> None:
    if s.debug_ui and s.tls_enabled:
        _fail(s, "debug_ui", "must be false when tls is on (the debug UI connects without TLS): set tls to false")
    renewal = tls_parameters.EARLY_RENEWAL_DAYS
    if not 1 <= s.certificate_min_days_left < renewal:
        _fail(
            s,
            "certificate_min_days_left",
            f"must be between 1 and {renewal - 1} days: below the {renewal} days before expiry from which `pulumi up` "
            "renews a certificate (a higher threshold would fail deploys that cannot renew it yet)",
        )
    if s.blackbox_exporter_address and not re.fullmatch(
        r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]{1,5}", s.blackbox_exporter_address
    ):
        _fail(s, "blackbox_exporter_address", "must be host:port (e.g. blackbox.monitoring.svc:9115), or empty")


def _ports(s: Settings) -> None:
    for name in ("dev_redis_port", "dev_sentinel_port", "debug_ui_port", "dev_exporter_port"):
        if not 1024 <= getattr(s, name) <= 65535:
            _fail(s, name, "must be an unprivileged port between 1024 and 65535")
    seen: dict[int, str] = {}
    for user, key, port in s._dev_host_port_layout():
        if port > 65535:
            _fail(s, key, f"{user} would get port {port}, above 65535")
        if port in seen:
            _fail(s, key, f"{user} would get host port {port}, already used by {seen[port]}")
        seen[port] = user


def _password_generations(s: Settings) -> None:
    keys = {user.key for user in users.USERS}
    seen: set[str] = set()
    for pair in (p for p in s.password_generations.split(",") if p.strip()):
        key, sep, value = (part.strip() for part in pair.partition("="))
        numbers = value.split("+")
        if not sep or not all(re.fullmatch(r"[1-9][0-9]{0,5}", n.strip()) for n in numbers) or len(numbers) > 2:
            _fail(
                s, "password_generations", "must be 'KEY=N' or 'KEY=OLD+NEW' (positive whole numbers), comma-separated"
            )
        if key not in keys:
            _fail(s, "password_generations", f"{key!r} is not a password key; keys: {', '.join(sorted(keys))}")
        if key in seen:
            _fail(s, "password_generations", f"{key!r} is listed twice")
        if len(numbers) == 2 and int(numbers[0]) == int(numbers[1]):
            _fail(s, "password_generations", f"{key!r}: the two generations of a rotation must differ")
        seen.add(key)


def _tls_ca_generations(s: Settings) -> None:
    numbers = [n.strip() for n in s.tls_ca_generations.split("+")]
    if not all(re.fullmatch(r"[1-9][0-9]{0,5}", n) for n in numbers) or len(numbers) > 2:
        _fail(
            s,
            "tls_ca_generations",
            "must be 'N' or 'SIGNING+OTHER' (positive whole numbers): the first signs the nodes' certificates, "
            "every one listed is trusted",
        )
    if len(numbers) == 2 and int(numbers[0]) == int(numbers[1]):
        _fail(s, "tls_ca_generations", "the two generations of a rotation must differ")


# Names of the keys, for docs and error messages.
CONFIG_KEYS = tuple(to_config_key(f.name) for f in dataclasses.fields(Settings))
