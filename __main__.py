"""festival-redis: Redis HA (one master, replicas, a Sentinel quorum) on Docker (dev) or Kubernetes (prod).

Stack config -> Settings (every bad value fails here, before any resource exists) -> one deployment, declared in
one pass (components/deployment.py) -> the stack outputs application stacks consume.
"""

import pulumi

from components.config import load_settings
from components.deployment import deploy

deployment = deploy(load_settings())
for key, value in deployment.outputs().items():
    pulumi.export(key, value)
