"""The festival-redis component provider: hosts RedisHA for `pulumi package add` (TypeScript, YAML, ...)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: components/

from pulumi.provider import main  # noqa: E402
from redis_ha_component import RedisHAProvider  # noqa: E402

VERSION = "1.0.0"  # keep in step with PulumiPlugin.yaml

if __name__ == "__main__":
    # What component_provider_host does, with the provider whose schema marks the secret outputs.
    main(RedisHAProvider(VERSION), sys.argv[1:])
