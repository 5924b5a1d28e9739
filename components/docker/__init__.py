"""The dev stack's platform: every node a container on one bridge network of a local Docker engine.

Re-exports pure names only: DockerPlatform (pulumi_docker) is in components/docker/platform.py.
"""

from components.docker.names import topology

__all__ = ["topology"]
