"""festival-redis: Redis HA (one master, replicas, a Sentinel quorum) on Docker (dev) or Kubernetes (prod).

One pass: settings -> topology -> rendered files -> platform -> components -> outputs.
"""

import pulumi

from components import render
from components.config import load_settings
from components.credentials import generate_credentials
from components.platform import platform_for, topology_for
from components.redis_ha import NodeGroupArgs, RedisMaster, RedisReplicaSet, SentinelQuorum

settings = load_settings()  # every bad value fails here, before any resource exists
topology = topology_for(settings)
files = render.deployment_files(settings, topology)
prefix = settings.name_prefix
credentials = generate_credentials(prefix)
platform = platform_for(settings)(f"{prefix}-{settings.platform}", settings, topology, files, credentials)

# Rollout order: each group starts (and on Kubernetes rolls out a change) after the one before it.
master = RedisMaster(f"{prefix}-redis-master", NodeGroupArgs(platform, (topology.master,)))
replicas = RedisReplicaSet(f"{prefix}-redis-replicas", NodeGroupArgs(platform, topology.replicas, after=[master]))
sentinels = SentinelQuorum(f"{prefix}-sentinels", NodeGroupArgs(platform, topology.sentinels, after=[replicas]))

pulumi.export("masterName", settings.master_name)
pulumi.export("redisPassword", credentials.redis_password)
pulumi.export("sentinelPassword", credentials.sentinel_password)
for key, value in platform.stack_outputs().items():
    pulumi.export(key, value)
pulumi.export("replicationCheck", platform.verify(f"{prefix}-replication-check", [master, replicas, sentinels]))
