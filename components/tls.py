"""TLS for a deployment: what its certificates are, and where the nodes find them. Plain values only.

With the `tls` setting on, every Redis node and Sentinel is TLS-only (`port 0`, `tls-port`), replication and
Sentinel links use TLS, and every connection must present a certificate of the deployment's own CA (mutual TLS,
Redis' default). Redis checks the chain of its peers' certificates but never their names, so any certificate of
the CA can act as any node: the CA is made for this deployment alone (components/certificates.py makes it with
pulumi-tls; harness/certs.py makes the same certificates for the tests). Clients do check names, so each node's
certificate names every name it is reached by.

The files sit in the nodes' secrets directory beside the passwords (a Kubernetes Secret key cannot hold `/`):
the CA's certificate, each node's certificate and key named after the host name it announces, and one client
certificate that the deployment's own tools present (probes, preStop, the check Job, the exporters).
"""

from __future__ import annotations

from dataclasses import dataclass

KEY_ALGORITHM = "RSA"
RSA_BITS = 2048
CA_COMMON_NAME = "festival-redis CA"
CA_VALIDITY_HOURS = 10 * 365 * 24
CERT_VALIDITY_HOURS = 365 * 24
# `pulumi up` replaces a node or client certificate this long before it expires (docs/security.md: renewal).
EARLY_RENEWAL_HOURS = 30 * 24
# pulumi-tls' allowed_uses. Replicas and Sentinels present their own certificate as a client on their links, and
# under mutual TLS a certificate without clientAuth is refused there ("unsupported certificate").
CA_USES = ("cert_signing", "crl_signing")
NODE_USES = ("digital_signature", "key_encipherment", "server_auth", "client_auth")
CLIENT_USES = ("digital_signature", "key_encipherment", "client_auth")

CA_FILE = "tls-ca.crt"
CLIENT_NAME = "client"
# Names every node answers to from inside its own container or pod (exporters, probes): the sidecars' and
# scripts' TLS checks pass there too.
LOCAL_NAMES = ("localhost",)
LOCAL_IPS = ("127.0.0.1",)


def cert_file(name: str) -> str:
    """The certificate of `name` (a node's announced host name, or CLIENT_NAME)."""
    return f"tls-{name}.crt"


def key_file(name: str) -> str:
    return f"tls-{name}.key"


@dataclass(frozen=True)
class CertSpec:
    """One certificate to make: the name its files go by, its subject and the names it is valid for."""

    name: str
    common_name: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    uses: tuple[str, ...]


def node_cert(announced_host: str, other_names: tuple[str, ...] = ()) -> CertSpec:
    """A node's certificate: valid for the host name it announces (what Sentinel hands clients), the other names
    it is reached by, and the local names. An announced IP address goes in as an IP address."""
    names = (announced_host, *other_names)
    ips = tuple(n for n in names if _is_ip(n))
    dns = tuple(dict.fromkeys(n for n in (*names, *LOCAL_NAMES) if not _is_ip(n)))
    return CertSpec(
        name=announced_host,
        common_name=announced_host[:64],
        dns_names=dns,
        ip_addresses=tuple(dict.fromkeys((*ips, *LOCAL_IPS))),
        uses=NODE_USES,
    )


def client_cert(deployment: str) -> CertSpec:
    return CertSpec(CLIENT_NAME, f"{deployment} client", (), (), CLIENT_USES)


def _is_ip(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


def client_options(directory: str, check_hostname: bool = True) -> dict[str, object]:
    """redis-py's options for a TLS connection with the certificates in `directory` (a node's secrets directory, or
    any directory holding the CA's and the client's files): the CA, and the client certificate mutual TLS asks for."""
    return {
        "ssl": True,
        "ssl_ca_certs": f"{directory}/{CA_FILE}",
        "ssl_certfile": f"{directory}/{cert_file(CLIENT_NAME)}",
        "ssl_keyfile": f"{directory}/{key_file(CLIENT_NAME)}",
        "ssl_check_hostname": check_hostname,
    }
