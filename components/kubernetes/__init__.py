"""The prod stack's platform: every node a pod of a StatefulSet in one namespace of a Kubernetes cluster."""

from components.kubernetes.names import topology
from components.kubernetes.platform import KubernetesPlatform

__all__ = ["KubernetesPlatform", "topology"]
