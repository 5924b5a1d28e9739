"""Generated credentials: one RandomPassword per user (components/users.py) and generation of its password
(passwordGenerations), and one for the debug UI, only ever handled as Pulumi secrets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_random

from components import passwords, users

PASSWORD_LENGTH = 32
DEBUG_UI_KEY = "debug-ui-password"


@dataclass(frozen=True)
class Credentials:
    """The generated passwords, as Pulumi secrets, by the key each is kept under (users.User.key)."""

    passwords: dict[str, pulumi.Output[str]]  # the current password (the highest generation listed)
    # While a password is rotated (two generations listed): the other one its user still accepts, by key.
    previous: dict[str, pulumi.Output[str]] = field(default_factory=dict)

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

    def secret_files(self) -> dict[str, pulumi.Output[str]]:
        """What every node's secrets hold: each user's current password (KEY) and the other one it accepts
        (KEY.previous, the current one again when not rotating; components/passwords.py)."""
        return passwords.secret_files(self.of_users(), self.previous)


def generate_credentials(
    name: str,
    generations: Mapping[str, tuple[int, ...]] | None = None,
    opts: pulumi.ResourceOptions | None = None,
    protect: bool = False,
) -> Credentials:
    """A RandomPassword for every generation listed of every user's password (Settings.password_generation_numbers;
    generation 1 when not listed) and for the debug UI (`festival-redis-password` is the application user's: the
    Redis password of the stacks deployed before there were users, kept).

    `protect` protects the current generation only: the one being retired (`OLD` of `OLD+NEW`) is deleted by the
    rotation's second `pulumi up`, and Pulumi refuses to delete a resource its state records as protected.

    Letters and digits only: the values are written into redis.conf / sentinel.conf lines at boot.
    """

    def password(key: str, generation: int, protected: bool) -> pulumi.Output[str]:
        generated = pulumi_random.RandomPassword(
            users.password_name(name, key, generation),
            length=PASSWORD_LENGTH,
            special=False,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=protected)),
        )
        return pulumi.Output.secret(generated.result)

    current, previous = {}, {}
    for key in (*(user.key for user in users.USERS), DEBUG_UI_KEY):
        *older, newest = (generations or {}).get(key, (1,))
        current[key] = password(key, newest, protect)
        if older:
            previous[key] = password(key, older[0], False)
    return Credentials(current, previous)
