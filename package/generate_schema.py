"""Writes package/schema.json, the schema the provider serves: `venv/bin/python package/generate_schema.py`."""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from package.redis_ha_component import RedisHAProvider  # noqa: E402

if __name__ == "__main__":
    version = next(
        line.split(":", 1)[1].strip() for line in (HERE / "PulumiPlugin.yaml").open() if line.startswith("version:")
    )
    schema = json.loads(RedisHAProvider(version).schema)
    (HERE / "schema.json").write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
