"""festival-app: an application wired to festival-redis through its stack outputs (contract/outputs.yaml).

The Sentinels, the master set name and the users to log in as (the default user is off: a password alone is
refused) come from the outputs. The passwords, secret outputs, reach the application as files it reads at start,
never as environment variables. In prod its pods carry the label that festival-redis'
NetworkPolicy admits. Needs the same backend and passphrase as festival-redis (docs/workflow.md).
"""

import re

import pulumi
import pulumi_docker as docker
import pulumi_kubernetes as k8s

CONTRACT_MAJOR = 4  # the major of contract/outputs.yaml this program was written for
CLIENT_LABEL = {"festival-redis-client": "true"}  # contract/outputs.yaml: clientPodLabel
SECRETS_DIR = "/run/secrets/festival-redis"
PASSWORD_FILES = {"redis-password": "redisPassword", "sentinel-password": "sentinelPassword"}  # file -> output
APP = "festival-app"


def fail(key: str, value: str, rule: str):
    raise ValueError(f"festival-app:{key} = {value!r}: {rule}")


config = pulumi.Config()
platform = config.get("platform") or "docker"
if platform not in ("docker", "kubernetes"):
    fail("platform", platform, "must be docker or kubernetes")
image = config.get("image") or "ghcr.io/festival/app:1.4.2"
tag = image.rsplit("/", 1)[-1]
if "@sha256:" not in image and (":" not in tag or tag.endswith(":latest")):
    fail("image", image, "must be pinned to a tag other than latest, or to a digest")
redis_stack = config.get("redisStack") or f"organization/festival-redis/{pulumi.get_stack()}"
if not re.fullmatch(r"organization/festival-redis/[A-Za-z0-9_.-]+", redis_stack):
    fail("redisStack", redis_stack, "a self-managed backend names stacks organization/festival-redis/<stack>")

redis = pulumi.StackReference("festival-redis", stack_name=redis_stack)


def written_for(version: str) -> str:
    """The contract's version, if its major is the one this program was written for: another one stops it."""
    if version.split(".")[0] != str(CONTRACT_MAJOR):
        raise ValueError(
            f"{redis_stack}: contractVersion = {version!r}: festival-app was written for contract {CONTRACT_MAJOR}.x; "
            "read what the new major changed (contract/outputs.yaml, docs/workflow.md), adapt the program and its "
            "CONTRACT_MAJOR"
        )
    return version


contract_version = redis.require_output("contractVersion").apply(written_for)


def redis_output(name: str) -> pulumi.Output:
    """An output of festival-redis, once its contract's major has been checked (a secret one stays secret)."""
    return pulumi.Output.all(contract_version, redis.require_output(name)).apply(lambda values: values[1])


env = {
    "REDIS_SENTINELS": redis_output("sentinelEndpoints").apply(",".join),
    "REDIS_MASTER_NAME": redis_output("masterName"),
    "REDIS_USERNAME": redis_output("redisUsername"),
    "REDIS_SENTINEL_USERNAME": redis_output("sentinelUsername"),
    "REDIS_PASSWORD_FILE": f"{SECRETS_DIR}/redis-password",
    "REDIS_SENTINEL_PASSWORD_FILE": f"{SECRETS_DIR}/sentinel-password",
}

if platform == "docker":
    app = docker.Container(
        APP,
        name=APP,
        image=image,
        envs=pulumi.Output.all(**env).apply(lambda values: [f"{key}={value}" for key, value in values.items()]),
        networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=redis_output("networkName"))],
        uploads=[
            docker.ContainerUploadArgs(file=f"{SECRETS_DIR}/{file}", content=redis_output(output), permissions="0400")
            for file, output in PASSWORD_FILES.items()
        ],
        memory=256,
        restart="unless-stopped",
    )
else:
    namespace = config.get("namespace") or APP
    ns = k8s.core.v1.Namespace(
        APP, metadata={"name": namespace, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}
    )
    # A pod mounts Secrets of its own namespace only: the passwords are copied, and stay secret.
    secret = k8s.core.v1.Secret(
        f"{APP}-redis",
        metadata={"name": "festival-redis-client", "namespace": namespace},
        string_data={file: redis_output(output) for file, output in PASSWORD_FILES.items()},
        opts=pulumi.ResourceOptions(depends_on=[ns]),
    )
    labels = {"app": APP}
    app = k8s.apps.v1.Deployment(
        APP,
        metadata={"name": APP, "namespace": namespace},
        spec={
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": {**labels, **CLIENT_LABEL}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [
                        {
                            "name": "app",
                            "image": image,
                            "env": [{"name": key, "value": value} for key, value in env.items()],
                            "volumeMounts": [{"name": "redis", "mountPath": SECRETS_DIR, "readOnly": True}],
                            "resources": {
                                "limits": {"memory": "256Mi"},
                                "requests": {"cpu": "100m", "memory": "256Mi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }
                    ],
                    "volumes": [
                        {"name": "redis", "secret": {"secretName": secret.metadata.name, "defaultMode": 0o440}}
                    ],
                },
            },
        },
        opts=pulumi.ResourceOptions(depends_on=[ns]),
    )
    k8s.policy.v1.PodDisruptionBudget(
        APP,
        metadata={"name": APP, "namespace": namespace},
        spec={"maxUnavailable": 1, "selector": {"matchLabels": labels}},
        opts=pulumi.ResourceOptions(depends_on=[ns]),
    )

pulumi.export("redisStack", redis_stack)
pulumi.export("redisContractVersion", contract_version)
pulumi.export("sentinels", env["REDIS_SENTINELS"])
