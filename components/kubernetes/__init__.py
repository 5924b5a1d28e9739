"""The prod stack's Kubernetes objects: plain manifests (manifests.py) wired into Pulumi by kubernetes_platform."""
