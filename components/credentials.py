"""Generated credentials: one RandomPassword per role, only ever handled as Pulumi secrets."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random

PASSWORD_LENGTH = 32


@dataclass(frozen=True)
class Credentials:
    """The generated passwords, as Pulumi secrets."""

    redis_password: pulumi.Output[str]
    sentinel_password: pulumi.Output[str]
    debug_ui_password: pulumi.Output[str]


def generate_credentials(name: str, opts: pulumi.ResourceOptions | None = None) -> Credentials:
    """RandomPasswords for Redis, Sentinel and the debug UI, named after `name`.

    Letters and digits only: the values are written into redis.conf / sentinel.conf lines at boot.
    """

    def password(role: str) -> pulumi.Output[str]:
        generated = pulumi_random.RandomPassword(
            f"{name}-{role}-password", length=PASSWORD_LENGTH, special=False, opts=opts
        )
        return pulumi.Output.secret(generated.result)

    return Credentials(
        redis_password=password("redis"),
        sentinel_password=password("sentinel"),
        debug_ui_password=password("debug-ui"),
    )
