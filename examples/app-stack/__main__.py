"""festival-app: an application wired to festival-redis through its stack outputs (contract/outputs.yaml).

The container gets the connection variables (docs/clients.md, "Connection variables"), the same on both stacks, from
the clientEnv output: the Sentinels, the master set name, the users to log in as (the default user is off: a
password alone is refused), whether to use TLS, and the paths of the files holding the passwords and the CA
certificate. The passwords, secret outputs, reach the application only as those files, never as environment
variables; app/festival_redis.py is how the application reads them. In prod its pods carry the label that
festival-redis' NetworkPolicy admits, from a namespace its clientNamespaces setting must list (checked here). Needs the
same backend and passphrase as festival-redis (docs/workflow.md).
"""

import posixpath
import re

import pulumi
import pulumi_docker as docker
import pulumi_kubernetes as k8s

CONTRACT_MAJOR = 4  # the major of contract/outputs.yaml this program was written for
CONTRACT_MINOR = 5  # the first minor with clientEnv and clientNamespaces
CLIENT_LABEL = {"festival-redis-client": "true"}  # contract/outputs.yaml: clientPodLabel
# variable -> the output its file holds (docs/clients.md, "Connection variables"); the CA only with REDIS_TLS=true
FILE_OUTPUTS = {
    "REDIS_PASSWORD_FILE": "redisPassword",
    "REDIS_SENTINEL_PASSWORD_FILE": "sentinelPassword",
    "REDIS_CA_FILE": "tlsCaCert",
}
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
    """The contract's version, if its major is the one this program was written for: another one stops it, and so
    does an older minor, which lacks outputs it reads."""
    major, minor = (int(part) for part in version.split(".")[:2])
    if major != CONTRACT_MAJOR:
        raise ValueError(
            f"{redis_stack}: contractVersion = {version!r}: festival-app was written for contract {CONTRACT_MAJOR}.x; "
            "read what the new major changed (contract/outputs.yaml, docs/workflow.md), adapt the program and its "
            "CONTRACT_MAJOR"
        )
    if minor < CONTRACT_MINOR:
        raise ValueError(
            f"{redis_stack}: contractVersion = {version!r}: festival-app needs contract "
            f"{CONTRACT_MAJOR}.{CONTRACT_MINOR} or later (clientEnv): update festival-redis first"
        )
    return version


contract_version = redis.require_output("contractVersion").apply(written_for)


def redis_output(name: str, required: bool = True) -> pulumi.Output:
    """An output of festival-redis, once its contract's version has been checked (a secret one stays secret); an
    optional one is None where the stack does not export it."""
    output = redis.require_output(name) if required else redis.get_output(name)
    return pulumi.Output.all(contract_version, output).apply(lambda values: values[1])


def client_files(env: dict, contents: dict) -> dict[str, str]:
    """path -> content of every file the variables name (the CA only with TLS)."""
    wanted = [name for name in FILE_OUTPUTS if name != "REDIS_CA_FILE" or env["REDIS_TLS"] == "true"]
    missing = [FILE_OUTPUTS[name] for name in wanted if contents[name] is None]
    if missing:
        raise ValueError(f"{redis_stack}: REDIS_TLS = {env['REDIS_TLS']!r}, but it has no output {', '.join(missing)}")
    return {env[name]: contents[name] for name in wanted}


env = redis_output("clientEnv")
contents = {name: redis_output(output, required=output != "tlsCaCert") for name, output in FILE_OUTPUTS.items()}
files = pulumi.Output.all(env, pulumi.Output.all(**contents)).apply(lambda values: client_files(*values))

if platform == "docker":
    app = docker.Container(
        APP,
        name=APP,
        image=image,
        envs=env.apply(lambda values: [f"{key}={value}" for key, value in values.items()]),
        networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=redis_output("networkName"))],
        uploads=files.apply(
            lambda paths: [{"file": path, "content": content, "permissions": "0400"} for path, content in paths.items()]
        ),
        memory=256,
        restart="unless-stopped",
    )
else:
    wanted = config.get("namespace") or APP

    def admitted(names: list[str]) -> str:
        if wanted not in names:
            fail(
                "namespace",
                wanted,
                f"festival-redis admits clients only from its clientNamespaces {names}: add it there "
                f"(pulumi config set clientNamespaces {','.join([*names, wanted])} -s <stack>, on festival-redis)",
            )
        return wanted

    namespace = redis_output("clientNamespaces").apply(admitted)
    ns = k8s.core.v1.Namespace(
        APP, metadata={"name": namespace, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}
    )

    def secrets_dir(values: dict[str, str]) -> str:
        [directory] = {posixpath.dirname(values[name]) for name in FILE_OUTPUTS}  # one (contract/outputs.yaml)
        return directory

    # A pod mounts Secrets of its own namespace only: the files are copied (the passwords stay secret), each under
    # its file name, and the Secret is mounted where the variables say they are.
    secret = k8s.core.v1.Secret(
        f"{APP}-redis",
        metadata={"name": "festival-redis-client", "namespace": namespace},
        string_data=files.apply(lambda paths: {posixpath.basename(path): content for path, content in paths.items()}),
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
                            "env": env.apply(lambda values: [{"name": k, "value": v} for k, v in values.items()]),
                            "volumeMounts": [{"name": "redis", "mountPath": env.apply(secrets_dir), "readOnly": True}],
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
pulumi.export("sentinels", env.apply(lambda values: values["REDIS_SENTINELS"]))
