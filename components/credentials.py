"""Generated credentials: one RandomPassword per user (components/users.py) and one for the debug UI, only ever
handled as Pulumi secrets."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random

from components import users

PASSWORD_LENGTH = 32
DEBUG_UI_KEY = "debug-ui-password"


@dataclass(frozen=True)
class Credentials:
    """The generated passwords, as Pulumi secrets, by the key each is kept under (users.User.key)."""

    passwords: dict[str, pulumi.Output[str]]

    @property
    def redis_password(self) -> pulumi.Output[str]:
        """The application user's (users.APP) on the Redis nodes."""
        return self.passwords[users.APP.key]

    @property
    def sentinel_password(self) -> pulumi.Output[str]:
        """The application user's (users.SENTINEL_CLIENT) on the Sentinels."""
        return self.passwords[users.SENTINEL_CLIENT.key]

    @property
    def redis_admin_password(self) -> pulumi.Output[str]:
        return self.passwords[users.ADMIN.key]

    @property
    def sentinel_admin_password(self) -> pulumi.Output[str]:
        return self.passwords[users.SENTINEL_ADMIN.key]

    @property
    def debug_ui_password(self) -> pulumi.Output[str]:
        return self.passwords[DEBUG_UI_KEY]

    def of_users(self) -> dict[str, pulumi.Output[str]]:
        """Every user's password by key (what the nodes' secrets hold), without the debug UI's."""
        return {user.key: self.passwords[user.key] for user in users.USERS}


def generate_credentials(name: str, opts: pulumi.ResourceOptions | None = None) -> Credentials:
    """A RandomPassword `<name>-<key>` for every user and for the debug UI (`festival-redis-password` is the
    application user's: the Redis password of the stacks deployed before there were users, kept).

    Letters and digits only: the values are written into redis.conf / sentinel.conf lines at boot.
    """

    def password(key: str) -> pulumi.Output[str]:
        generated = pulumi_random.RandomPassword(f"{name}-{key}", length=PASSWORD_LENGTH, special=False, opts=opts)
        return pulumi.Output.secret(generated.result)

    return Credentials({key: password(key) for key in (*(user.key for user in users.USERS), DEBUG_UI_KEY)})
