"""The dev stack's platform: every node a container on one bridge network of a local Docker engine."""

from components.docker.names import topology
from components.docker.platform import DockerPlatform

__all__ = ["DockerPlatform", "topology"]
