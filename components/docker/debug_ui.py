"""Redis Commander's configuration for the dev stack's optional debug UI: a pure function of plain values."""

from __future__ import annotations

import json

from components import users
from components.settings import Settings
from components.topology import Topology

USER = "festival-admin"
PORT = 8081  # Redis Commander's port inside its container
MEMORY_MB = 256
UID = "1000"  # the Redis Commander image's user; its primary group is root (gid 0)
# Redis Commander (node-config) reads local-<NODE_ENV>-<NODE_APP_INSTANCE>.json after the local-production.json
# its entrypoint writes, so this file's connections and HTTP login win. Its *_PASSWORD_FILE variables are not
# used: the entrypoint passes those passwords to node on the command line.
CONFIG_FILE = "/redis-commander/config/local-production-docker.json"
APP_INSTANCE = "docker"


def config(settings: Settings, topology: Topology, redis_password: str, sentinel_password: str, password: str) -> str:
    """Log in as USER with `password`; find the master through the Sentinels, as the admin users (an operator's
    tool: it runs INFO, CONFIG, SCAN and whatever the operator asks), whose passwords are given."""
    return json.dumps(
        {
            "noSave": True,
            "server": {"httpAuth": {"username": USER, "password": password}},
            "connections": [
                {
                    "label": settings.master_name,
                    "sentinels": [str(node.address) for node in topology.sentinels],
                    "sentinelName": settings.master_name,
                    "username": users.ADMIN.name,
                    "password": redis_password,
                    "sentinelUsername": users.SENTINEL_ADMIN.name,
                    "sentinelPassword": sentinel_password,
                    "dbIndex": 0,
                }
            ],
        },
        indent=2,
    )
