"""The checks read a node's certificate from the TLS handshake, as a client sees it: here a loopback TLS server (no
Redis) serving a certificate made as pulumi-tls makes it (harness/certs.py)."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from contextlib import contextmanager

from components import tls
from components.checks.observe import Target, observe_certificate
from harness import certs

NODE = "festival-redis-master:6379"


def node_certificate(ca_key: str, ca_cert: str, hours: int) -> tuple[str, str]:
    key = certs.private_key()
    request = certs.cert_request(key, "festival-redis-master", ("festival-redis-master",), tls.LOCAL_IPS)
    return certs.locally_signed_cert(request, ca_cert, ca_key, hours, tls.NODE_USES), key


@contextmanager
def tls_server(tmp_path, cert_pem: str, key_pem: str):
    """A TLS server on 127.0.0.1 that completes one handshake per connection; yields its port."""
    (tmp_path / "node.crt").write_text(cert_pem)
    (tmp_path / "node.key").write_text(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "node.crt", tmp_path / "node.key")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(5)
            try:
                with context.wrap_socket(connection, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                pass  # a client that refused the certificate

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()


def target(port: int, ca_cert: str) -> Target:
    return Target(
        master_name="festival-master",
        redis_nodes=(NODE,),
        sentinels=(),
        redis_password="unused",
        sentinel_password="unused",
        max_lag_seconds=10,
        nat_map={NODE: f"127.0.0.1:{port}"},
        tls_ca_cert=ca_cert,
        timeout=5,
    )


def test_the_days_left_are_those_of_the_certificate_the_node_serves(tmp_path):
    ca_key = certs.private_key()
    ca_cert = certs.self_signed_cert(ca_key, tls.CA_COMMON_NAME, tls.CA_VALIDITY_HOURS, tls.CA_USES)
    cert, key = node_certificate(ca_key, ca_cert, hours=10 * 24)
    with tls_server(tmp_path, cert, key) as port:
        seen = observe_certificate(target(port, ca_cert), NODE)
    assert seen.error is None
    assert seen.not_after == certs.validity_end_time(cert)
    assert 9.9 <= seen.days_left <= 10.0
    # the clock of the observer decides: 9 days later, one day is left
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=9)
    with tls_server(tmp_path, cert, key) as port:
        assert 0.9 <= observe_certificate(target(port, ca_cert), NODE, now=later).days_left <= 1.0


def test_a_certificate_the_deployments_ca_did_not_sign_is_unreadable(tmp_path):
    ca_key = certs.private_key()
    ca_cert = certs.self_signed_cert(ca_key, tls.CA_COMMON_NAME, tls.CA_VALIDITY_HOURS, tls.CA_USES)
    other_key = certs.private_key()
    other_ca = certs.self_signed_cert(other_key, "another CA", tls.CA_VALIDITY_HOURS, tls.CA_USES)
    cert, key = node_certificate(other_key, other_ca, hours=365 * 24)
    with tls_server(tmp_path, cert, key) as port:
        seen = observe_certificate(target(port, ca_cert), NODE)
    assert seen.days_left is None and "CERTIFICATE_VERIFY_FAILED" in seen.error
