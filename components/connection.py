"""The one set of variables an application is given to connect, the same on both stacks (docs/clients.md,
"Connection variables", is this table; tests/docs/test_connection_variables.py keeps the two in step).

Both stacks export them as the `clientEnv` output. The passwords and the CA certificate are files in one directory,
each named like its key in the prod Secret (`secretName`), so that Secret mounted at SECRETS_DIR is the directory.
No variable holds a password: a container's environment shows in `docker inspect`, in the pod spec and to every
process of the container.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from components import tls, users

SECRETS_DIR = "/run/secrets/festival-redis"


@dataclass(frozen=True)
class Variable:
    name: str
    meaning: str
    file_from: str = ""  # for a variable naming a file: the stack output its content comes from


VARIABLES = (
    Variable("REDIS_SENTINELS", "every Sentinel, `host:port`, comma-separated: ask them which node is master"),
    Variable("REDIS_MASTER_NAME", "the master set name the Sentinels monitor"),
    Variable("REDIS_USERNAME", "the user to log in as on the Redis nodes (`app`)"),
    Variable("REDIS_PASSWORD_FILE", "the file holding its password", "redisPassword"),
    Variable("REDIS_SENTINEL_USERNAME", "the user to log in as on the Sentinels (`client`)"),
    Variable("REDIS_SENTINEL_PASSWORD_FILE", "the file holding its password", "sentinelPassword"),
    Variable(
        "REDIS_TLS",
        "`true`: connect to the Sentinels and the nodes with TLS, verifying them with the CA; `false`: plaintext",
    ),
    Variable(
        "REDIS_CA_FILE",
        "the file holding the CA certificate (PEM) that verifies every node and Sentinel; there only when "
        "`REDIS_TLS` is `true`",
        "tlsCaCert",
    ),
)

FILES = {  # the file each file variable names, in SECRETS_DIR, by the prod Secret's key of the same content
    "REDIS_PASSWORD_FILE": users.APP.key,
    "REDIS_SENTINEL_PASSWORD_FILE": users.SENTINEL_CLIENT.key,
    "REDIS_CA_FILE": tls.CA_FILE,
}


def client_env(sentinels: Sequence[str], master_name: str, tls_enabled: bool) -> dict[str, str]:
    """The variables' values for a deployment whose Sentinels (`host:port`, as applications reach them) are these."""
    values = {
        "REDIS_SENTINELS": ",".join(sentinels),
        "REDIS_MASTER_NAME": master_name,
        "REDIS_USERNAME": users.APP.name,
        "REDIS_SENTINEL_USERNAME": users.SENTINEL_CLIENT.name,
        "REDIS_TLS": "true" if tls_enabled else "false",
        **{name: f"{SECRETS_DIR}/{file}" for name, file in FILES.items()},
    }
    return {variable.name: values[variable.name] for variable in VARIABLES}
