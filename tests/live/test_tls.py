"""TLS-only deployments on real processes, with certificates made as the program makes them (harness/certs.py from
components/tls.py's parameters): replication, Sentinel agreement and failovers over TLS, plaintext and foreign
certificates refused, a client that checks host names, certificate renewal, and the middle of a CA rotation (nodes
of two CAs)."""

from __future__ import annotations

import socket
import ssl

import pytest
import redis
from cryptography import x509

from components import tls, users
from harness.certs import Authority
from harness.check_runs import cli_args, cli_passwords, run_cli
from harness.local import STABLE
from harness.runtime import wait_until
from harness.writer import master_client, sentinel_client, start_writer


@pytest.fixture
def tls_deployment(make_deployment):
    deployment = make_deployment(tls="true")
    deployment.start_all()
    return deployment


def served_certificate(port: int) -> str:
    """The common name of the certificate a TLS port serves (no client certificate sent: the handshake gets that
    far before the server asks for one)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
        with context.wrap_socket(raw) as conn:
            der = conn.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der).subject.rfc4514_string()


def test_tls_only_deployment_replicates_agrees_and_refuses_plaintext_and_strangers(tls_deployment, tmp_path):
    deployment = tls_deployment
    for name, local in deployment.nodes.items():
        client = deployment.client(name)
        assert client.ping()
        if not local.is_sentinel:
            assert client.config_get("port")["port"] == "0"
            assert client.config_get("tls-replication")["tls-replication"] == "yes"
        # No plaintext on any port.
        plain = redis.Redis(host="127.0.0.1", port=local.port, socket_timeout=2, socket_connect_timeout=2)
        with pytest.raises(redis.ConnectionError):
            plain.ping()
    assert deployment.client("redis-master").info("replication")["connected_slaves"] == 2
    for name in ("redis-replica-1", "redis-replica-2"):
        assert deployment.client(name).info("replication")["master_link_status"] == "up"
    for node in deployment.topology.sentinels:  # the Sentinels reached the nodes and each other
        assert deployment.client(node.name).execute_command("SENTINEL", "CKQUORUM", deployment.settings.master_name)

    # Clients verify the servers with the CA and log in with passwords; a certificate a client presents must be the
    # CA's: one of another CA is refused, even with the right password.
    assert deployment.client("redis-master", **tls.client_options(deployment.tls_ca_cert)).ping()
    stranger = Authority("someone else's CA")
    for file, text in stranger.files(tls.node_cert("127.0.0.1")).items():
        (tmp_path / file).write_text(text)
    with_foreign_cert = {
        "ssl_certfile": str(tmp_path / tls.cert_file("127.0.0.1")),
        "ssl_keyfile": str(tmp_path / tls.key_file("127.0.0.1")),
    }
    with pytest.raises(redis.ConnectionError):
        deployment.client("redis-master", **with_foreign_cert).ping()
    # Nor does the server pass for another: a client trusting only another CA refuses it.
    with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        deployment.client("redis-master", ssl_ca_data=stranger.cert_pem).ping()

    # The checks' command line: healthy with the CA; without it, every node is unreachable (exit 2).
    (tmp_path / "ca.crt").write_text(deployment.tls_ca_cert)
    args = [*cli_args(deployment), "--tls-ca-cert", str(tmp_path / "ca.crt")]
    healthy = run_cli(*args, env=cli_passwords(deployment))
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    plain = run_cli(*cli_args(deployment), env=cli_passwords(deployment))
    assert plain.returncode == 2, plain.stdout


def test_a_host_name_checking_client_reaches_every_node_through_what_sentinel_announces(tls_deployment):
    """redis-py checks the name it connects to (the address Sentinel announces) against the node's certificate;
    Redis' own links do not check names, so a node whose certificate lacks its name still replicates, and only the
    client notices."""
    deployment = tls_deployment
    sentinel = sentinel_client(
        [(n.address.host, n.address.port) for n in deployment.topology.sentinels],
        deployment.redis_password,
        deployment.sentinel_password,
        tls=deployment.tls_options,
    )
    assert deployment.tls_options["ssl_check_hostname"] is True
    master = master_client(sentinel, deployment.settings.master_name)
    master.set("tls:key", "value")
    replicas = sentinel.discover_slaves(deployment.settings.master_name)
    assert len(replicas) == 2
    for host, port in replicas:
        replica = redis.Redis(
            host=host,
            port=port,
            username=users.APP.name,
            password=deployment.redis_password,
            **deployment.tls_options,
        )
        wait_until(lambda r=replica: r.get("tls:key") == b"value", timeout=10, what=f"{host}:{port} to have the key")

    # A replica whose certificate does not name the address it announces.
    deployment.stop("redis-replica-1")
    wrong = tls.CertSpec("127.0.0.1", "misnamed", ("elsewhere.festival.test",), (), tls.NODE_USES)
    deployment.install_tls("redis-replica-1", wrong)
    deployment.start("redis-replica-1")
    lenient = {**deployment.tls_options, "ssl_check_hostname": False}
    unchecked = deployment.client("redis-replica-1", **lenient)
    # Its links to the master and to the Sentinels do not check names: it replicates.
    wait_until(
        lambda: unchecked.info("replication")["master_link_status"] == "up", timeout=30, what="the misnamed replica"
    )
    checking = deployment.client("redis-replica-1")
    with pytest.raises(redis.ConnectionError, match="mismatch"):
        checking.ping()
    # Sentinel lists it again once its link to the restarted node is up and the node answered a PING (its s_down and
    # disconnected flags cleared; redis-py's discover_slaves leaves out flagged replicas).
    port = deployment.nodes["redis-replica-1"].port
    wait_until(
        lambda: port in {p for _, p in sentinel.discover_slaves(deployment.settings.master_name)},
        timeout=30,
        what="Sentinel to list the restarted replica again",
    )


def test_failover_over_tls_loses_no_acknowledged_write(make_deployment):
    """STABLE timings: each promoted node must still be master after the old one rejoined (harness.local.STABLE)."""
    deployment = make_deployment(tls="true", **STABLE)
    deployment.start_all()
    writer = start_writer(deployment)
    deployment.terminate("redis-master")  # a stop: the master hands over (prestop.sh over TLS)
    new_master = deployment.wait_for_new_master("redis-master")
    writer.wait_for_writes(20)
    deployment.start("redis-master")
    deployment.wait_healthy(timeout=40)
    writer.stop()
    counts = writer.counts()
    print(f"\nfailover over TLS: {counts}")
    assert counts["lost"] == 0 and counts["wait_lost"] == 0, counts
    assert deployment.role("redis-master") == "slave"
    assert deployment.role(new_master) == "master"

    # A crash: Sentinels agree over TLS, and the crashed node rejoins as a replica.
    deployment.kill(new_master)
    newer = deployment.wait_for_new_master(new_master)
    deployment.start(new_master)
    deployment.wait_healthy(timeout=40)
    assert deployment.role(new_master) == "slave" and deployment.role(newer) == "master"


def test_renewal_data_nodes_reload_at_run_time_sentinels_on_restart(tls_deployment):
    """What docs/security.md's renewal relies on: a data node serves a new certificate after CONFIG SET with
    replication up throughout; a Sentinel has no CONFIG SET and takes its new certificate when restarted."""
    deployment = tls_deployment
    replica = "redis-replica-1"
    before_syncs = deployment.client("redis-master").info("stats")["sync_full"]
    deployment.install_tls(replica, tls.CertSpec("127.0.0.1", "renewed", ("localhost",), ("127.0.0.1",), tls.NODE_USES))
    port = deployment.nodes[replica].port
    assert served_certificate(port) == "CN=127.0.0.1"  # files replaced: still the old one in memory
    secrets = deployment.nodes[replica].root / "secrets"
    client = deployment.client(replica)
    client.config_set("tls-cert-file", str(secrets / tls.cert_file("127.0.0.1")))
    assert served_certificate(port) == "CN=renewed"
    assert client.info("replication")["master_link_status"] == "up"
    assert deployment.client("redis-master").info("stats")["sync_full"] == before_syncs

    sentinel = deployment.topology.sentinels[0].name
    deployment.install_tls(
        sentinel, tls.CertSpec("127.0.0.1", "renewed", ("localhost",), ("127.0.0.1",), tls.NODE_USES)
    )
    deployment.restart(sentinel)
    wait_until(lambda: deployment.client(sentinel).ping(), timeout=20, what="the restarted Sentinel")
    assert served_certificate(deployment.nodes[sentinel].port) == "CN=renewed"
    deployment.wait_healthy()


def test_mid_ca_rotation_nodes_of_both_cas_replicate_fail_over_and_serve_clients_of_the_bundle(
    make_deployment, tmp_path
):
    """The middle of a CA rotation's reissue roll (docs/security.md, "Rotating the CA"): step 1 (tlsCaGenerations
    1+2) made every node trust the bundle of CA 1 and CA 2, step 2 (2+1) has reissued some nodes' certificates with
    CA 2 and not yet the others'. Nodes of both CAs replicate with each other, the Sentinels of both see every node
    and peer and fail over among them (a hand-over, then a crash, which needs the vote of a Sentinel of each CA), a
    writer with the bundle loses no acknowledged write, the checks pass with the bundle, and a client trusting CA 1
    alone is refused by a node of CA 2. harness.local.STABLE timings: no failover but the two the test causes."""
    deployment = make_deployment(tls="true", **STABLE)
    old = deployment.authority
    new = Authority(tls.ca_common_name(deployment.settings.name_prefix, 2))
    deployment.trust(old, new)

    def reissue(name: str) -> None:
        deployment.install_tls(name, tls.node_cert(deployment.nodes[name].node.address.host), issuer=new)

    # RedisRollout replaces the Sentinels first, then the replicas, the master last; with a pod restarted out of turn
    # (it takes the new certificate), both roles hold certificates of both CAs: here a Sentinel and a replica.
    for name in ("redis-replica-1", "sentinel-1"):
        reissue(name)
    deployment.start_all()  # healthy: every replica linked, every Sentinel agreeing and seeing every node and peer

    def issued_by_new(name: str) -> bool:
        """Whether the node serves a certificate of CA 2: a client trusting CA 1 alone refuses it."""
        try:
            deployment.client(name, ssl_ca_data=old.cert_pem).ping()
            return False
        except redis.ConnectionError as error:
            assert "CERTIFICATE_VERIFY_FAILED" in str(error), error
            return True

    assert {name for name in deployment.nodes if issued_by_new(name)} == {"redis-replica-1", "sentinel-1"}
    writer = start_writer(deployment)

    reissue("redis-replica-2")  # the roll goes on
    deployment.restart("redis-replica-2")
    deployment.wait_healthy()
    deployment.terminate("redis-master")  # its turn: it hands over to a replica of CA 2
    promoted = deployment.wait_for_new_master("redis-master")
    assert issued_by_new(promoted)
    writer.wait_for_writes(20)
    # Back with its certificate of CA 1 (a pod restarted before its turn keeps its certificate): it replicates from
    # the master of CA 2.
    deployment.start("redis-master")
    deployment.wait_healthy()
    writer.stop()
    counts = writer.counts()
    print(f"\nmid CA rotation, a hand-over: {counts}")
    assert counts["lost"] == 0 and counts["wait_lost"] == 0, counts
    assert deployment.role("redis-master") == "slave" and not issued_by_new("redis-master")

    # A crash, with a Sentinel of CA 1 stopped: the two left, one of each CA, must both find the master down (quorum
    # 2) and elect one of them (a majority of the three) to fail over.
    deployment.stop("sentinel-3")
    deployment.kill(promoted)
    newer = deployment.wait_for_new_master(promoted)
    deployment.start(promoted)
    deployment.start("sentinel-3")
    deployment.wait_healthy()
    assert deployment.role(newer) == "master" and deployment.role(promoted) == "slave"
    for name in deployment.nodes:  # a client with the bundle reaches every node, of either CA
        assert deployment.client(name).ping()
    # So do the checks' command line and its certificate check, given the bundle (tlsCaCert).
    (tmp_path / "bundle.crt").write_text(deployment.tls_ca_cert)
    checked = run_cli(
        *cli_args(deployment), "--tls-ca-cert", str(tmp_path / "bundle.crt"), env=cli_passwords(deployment)
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
