"""festival-redis: Redis HA (one master, replicas, a Sentinel quorum) on Docker (dev) or Kubernetes (prod)."""

import pulumi

from components import render
from components.config import load_settings
from components.credentials import generate_credentials
from components.redis_ha import NodeGroupArgs, RedisMaster, RedisReplicaSet, SentinelQuorum

settings = load_settings()  # every bad value fails here, before any resource exists
prefix = settings.name_prefix
credentials = generate_credentials(prefix)

if settings.platform == "kubernetes":
    from components.kubernetes_platform import KubernetesPlatform as PlatformType
else:
    from components.docker_platform import DockerPlatform as PlatformType
platform = PlatformType(f"{prefix}-{settings.platform}", settings, credentials)
topology = platform.topology

redis_files = render.redis_files(settings, topology)
master = RedisMaster(f"{prefix}-redis-master", NodeGroupArgs(platform, (topology.master,), redis_files))
replicas = RedisReplicaSet(f"{prefix}-redis-replicas", NodeGroupArgs(platform, topology.replicas, redis_files))
sentinels = SentinelQuorum(
    f"{prefix}-sentinels", NodeGroupArgs(platform, topology.sentinels, render.sentinel_files(settings, topology))
)

pulumi.export("masterName", settings.master_name)
pulumi.export("redisPassword", credentials.redis_password)
pulumi.export("sentinelPassword", credentials.sentinel_password)
for key, value in platform.stack_outputs().items():
    pulumi.export(key, value)
pulumi.export("replicationCheck", platform.verify(f"{prefix}-replication-check", [master, replicas, sentinels]))
