"""The prod stack's platform: every node a pod of a StatefulSet in one namespace of a Kubernetes cluster.

Re-exports pure names only: KubernetesPlatform (pulumi_kubernetes) is in components/kubernetes/platform.py.
"""

from components.kubernetes.names import topology

__all__ = ["topology"]
