"""Reads the stack's config into Settings. The only module that knows where settings come from."""

from __future__ import annotations

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from components.settings import CONFIG_KEYS, CONFIG_NAMESPACE, Settings


def load_settings() -> Settings:
    """Settings from `festival-redis:*` stack config; an unknown key is an error, not a silent typo."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    values = {key: config.get(key) for key in CONFIG_KEYS}
    for full_key, value in {**get_config_env(), **CONFIG.get()}.items():
        namespace, _, key = full_key.partition(":")
        if namespace == CONFIG_NAMESPACE and key not in values:
            values[key] = value
    return Settings.from_config(values)
