"""TLS for a deployment: what its certificates are, and where the nodes find them. Plain values only.

With the `tls` setting on, every Redis node and Sentinel is TLS-only (`port 0`, `tls-port`) and replication and
Sentinel links use TLS. Clients verify the servers with the deployment's CA certificate (the tlsCaCert output) and
log in with their users' passwords as before: a client certificate is optional (`tls-auth-clients optional`), but
one that is presented must be the CA's, and replicas and Sentinels present their own on their links. Redis checks
the chain of its peers' certificates but never their names, so any certificate of the CA can act as any node: the
CA is made for this deployment alone (components/certificates.py makes it with pulumi-tls; harness/certs.py makes
the same certificates for the tests). Clients do check names, so each node's certificate names every name it is
reached by.

The files sit in the nodes' secrets directory beside the passwords (a Kubernetes Secret key cannot hold `/`):
the CA certificates (one, or two while the CA is rotated: tlsCaGenerations), and each node's certificate and key
named after the host name it announces.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

KEY_ALGORITHM = "RSA"
RSA_BITS = 2048
CA_COMMON_NAME = "festival-redis CA"
CA_VALIDITY_HOURS = 10 * 365 * 24
CERT_VALIDITY_HOURS = 365 * 24
# `pulumi up` replaces a node or client certificate this long before it expires (docs/security.md: renewal).
EARLY_RENEWAL_HOURS = 30 * 24
EARLY_RENEWAL_DAYS = EARLY_RENEWAL_HOURS // 24
# The alert on a served certificate fires this many days before it expires (components/kubernetes/monitoring.py).
EXPIRY_ALERT_DAYS = 21
# The scheduled certificates workflow fails this many days before `pulumi up` would renew a certificate: its runs are
# a week apart, so one of them fails before the renewal window opens (tools/certificate_renewal.py).
RENEWAL_NOTICE_DAYS = 7
# pulumi-tls' allowed_uses. Replicas and Sentinels present their own certificate as a client on their links, where
# a certificate without clientAuth is refused ("unsupported certificate").
CA_USES = ("cert_signing", "crl_signing")
NODE_USES = ("digital_signature", "key_encipherment", "server_auth", "client_auth")

CA_FILE = "tls-ca.crt"
# Names every node answers to from inside its own container or pod (exporters, probes): the sidecars' and
# scripts' TLS checks pass there too.
LOCAL_NAMES = ("localhost",)
LOCAL_IPS = ("127.0.0.1",)


def ca_common_name(prefix: str, generation: int) -> str:
    """The subject of the deployment's CA of `generation` (tlsCaGenerations). Generation 1 keeps the name it had
    before there were generations (a new subject would replace the CA). Each later one has a name of its own: OpenSSL
    looks a certificate's issuer up in the trusted CAs by subject name, and of two CAs of one name it can take the
    wrong one and refuse the certificate ("certificate signature failure" from `openssl verify`, with certificates
    that carry no key identifiers, as harness/certs.py makes them)."""
    return f"{CA_COMMON_NAME} {prefix}" if generation == 1 else f"{CA_COMMON_NAME} {prefix} gen{generation}"


def ca_bundle(pems: Iterable[str]) -> str:
    """The CA file the nodes and clients trust: the CA certificates (PEM) one after the other, each ending in a
    newline (OpenSSL, Go and Python read every certificate of such a file)."""
    return "".join(pem if pem.endswith("\n") else f"{pem}\n" for pem in pems)


def cert_file(name: str) -> str:
    """The certificate of the node that announces host name `name`."""
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


def _is_ip(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


def redis_url(address: str, enabled: bool) -> str:
    """A redis:// URL of `address` (host:port), rediss:// when TLS is on (what redis_exporter scrapes)."""
    return f"{'rediss' if enabled else 'redis'}://{address}"


def client_options(ca_cert: str, check_hostname: bool = True) -> dict[str, object]:
    """redis-py's options for a TLS connection to a node of the deployment whose CA certificate (PEM) is `ca_cert`."""
    return {"ssl": True, "ssl_ca_data": ca_cert, "ssl_check_hostname": check_hostname}


def parse_time(text: str) -> datetime.datetime:
    """An RFC 3339 time as pulumi-tls records validity_end_time (Go's time.MarshalText: nanoseconds, any offset), in
    UTC; ValueError when it is not one."""
    parsed = datetime.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return parsed.astimezone(datetime.UTC)


def days_left(not_after: datetime.datetime, now: datetime.datetime) -> float:
    """Days (fractional) from `now` until a certificate's NotAfter; negative once it expired."""
    return (not_after - now).total_seconds() / 86400
