"""docs/clients.md shows the redis-py settings the fault tests use (harness/writer.py): keep the two in step."""

import inspect
import re
from pathlib import Path

from components import tls
from harness import writer

DOC = Path(__file__).resolve().parents[2] / "docs" / "clients.md"


def python_block() -> str:
    return re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)


def test_the_documented_connection_class_is_the_one_the_tests_use():
    assert inspect.getsource(writer.FollowingConnection) in python_block()


def test_the_documented_timeouts_and_retries_are_the_ones_the_tests_use():
    block = python_block()
    assert f"socket_timeout={writer.SOCKET_TIMEOUT}," in block
    assert f"socket_connect_timeout={writer.SOCKET_TIMEOUT}," in block
    assert f'"socket_timeout": {writer.SENTINEL_TIMEOUT},' in block
    assert f'"socket_connect_timeout": {writer.SENTINEL_TIMEOUT},' in block
    assert '"retry": Retry(NoBackoff(), 0),' in block
    backoff = ", ".join(f"{key}={value}" for key, value in writer.BACKOFF.items())
    assert f"retry=Retry(ExponentialBackoff({backoff}), {writer.RETRIES})," in block
    assert "connection_class=FollowingConnection," in block


def test_the_documented_tls_settings_are_the_ones_the_tests_use():
    block = re.search(r"## TLS\n.*?```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    assert inspect.getsource(writer.FollowingSSLConnection) in block
    options = tls.client_options("CA_CERT")
    assert "tls = {" + ", ".join(f'"{k}": {v}' for k, v in options.items()) + "}" in block
    assert "connection_class=FollowingSSLConnection" in block
