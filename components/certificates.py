"""The deployment's TLS certificates, made by pulumi-tls with components/tls.py's parameters: a CA of its own and a
certificate per node. Keys are secrets; certificates are not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_tls

from components import tls

# The CA's key in Certificates.expiry (the nodes' are their resource labels, node names).
CA_LABEL = "ca"


@dataclass(frozen=True)
class Certificates:
    ca_cert: pulumi.Output[str]
    files: dict[str, pulumi.Output[str]]  # file name in the secrets directory -> PEM
    # label (CA_LABEL, or the node's) -> the certificate's NotAfter as pulumi-tls records it (validity_end_time, RFC
    # 3339): the stack output tlsCertificateExpiry.
    expiry: dict[str, pulumi.Output[str]]


def generate_certificates(
    prefix: str, specs: Mapping[str, tls.CertSpec], opts: pulumi.ResourceOptions | None = None
) -> Certificates:
    """A CA `<prefix>-tls-ca` and, for each `label -> spec`, a key, a request and a certificate `<prefix>-tls-<label>`.

    Each certificate is replaced by `pulumi up` from EARLY_RENEWAL_HOURS before it expires (docs/security.md)."""

    def key(name: str) -> pulumi_tls.PrivateKey:
        return pulumi_tls.PrivateKey(name, algorithm=tls.KEY_ALGORITHM, rsa_bits=tls.RSA_BITS, opts=opts)

    ca_key = key(f"{prefix}-tls-ca-key")
    ca = pulumi_tls.SelfSignedCert(
        f"{prefix}-tls-ca",
        private_key_pem=ca_key.private_key_pem,
        subject=pulumi_tls.SelfSignedCertSubjectArgs(common_name=f"{tls.CA_COMMON_NAME} {prefix}"),
        is_ca_certificate=True,
        validity_period_hours=tls.CA_VALIDITY_HOURS,
        allowed_uses=list(tls.CA_USES),
        opts=opts,
    )
    files = {tls.CA_FILE: ca.cert_pem}
    expiry = {CA_LABEL: ca.validity_end_time}
    for label, spec in specs.items():
        node_key = key(f"{prefix}-tls-{label}-key")
        request = pulumi_tls.CertRequest(
            f"{prefix}-tls-{label}-request",
            private_key_pem=node_key.private_key_pem,
            subject=pulumi_tls.CertRequestSubjectArgs(common_name=spec.common_name),
            dns_names=list(spec.dns_names),
            ip_addresses=list(spec.ip_addresses),
            opts=opts,
        )
        cert = pulumi_tls.LocallySignedCert(
            f"{prefix}-tls-{label}",
            cert_request_pem=request.cert_request_pem,
            ca_cert_pem=ca.cert_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            validity_period_hours=tls.CERT_VALIDITY_HOURS,
            early_renewal_hours=tls.EARLY_RENEWAL_HOURS,
            allowed_uses=list(spec.uses),
            opts=opts,
        )
        files[tls.cert_file(spec.name)] = cert.cert_pem
        files[tls.key_file(spec.name)] = pulumi.Output.secret(node_key.private_key_pem)
        expiry[label] = cert.validity_end_time
    return Certificates(ca.cert_pem, files, expiry)
