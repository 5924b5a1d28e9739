"""The deployment's TLS certificates, made by pulumi-tls with components/tls.py's parameters: a CA of its own (one
per generation tlsCaGenerations lists, two while the CA is rotated) and a certificate per node. Keys are secrets;
certificates are not."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_tls

from components import tls

# The signing CA's key in Certificates.expiry (the nodes' are their resource labels, node names); another trusted CA
# is `ca-gen<N>` (ca_label).
CA_LABEL = "ca"


@dataclass(frozen=True)
class Certificates:
    # What the nodes and clients trust (tls.CA_FILE, the tlsCaCert output): the bundle of every listed CA's certificate
    ca_cert: pulumi.Output[str]
    files: dict[str, pulumi.Output[str]]  # file name in the secrets directory -> PEM
    # label (CA_LABEL, ca_label(N), or the node's) -> the certificate's NotAfter as pulumi-tls records it
    # (validity_end_time, RFC 3339): the stack output tlsCertificateExpiry.
    expiry: dict[str, pulumi.Output[str]]


def ca_name(prefix: str, generation: int) -> str:
    """The CA of one generation: generation 1 keeps the name it had before there were generations (`<prefix>-tls-ca`:
    deployed stacks keep their CA), a later one is `<prefix>-tls-ca-gen<N>`. Its key is `<name>-key`."""
    return f"{prefix}-tls-ca" if generation == 1 else f"{prefix}-tls-ca-gen{generation}"


def ca_label(generation: int) -> str:
    """The tlsCertificateExpiry key of a trusted CA that does not sign the nodes' certificates."""
    return f"{CA_LABEL}-gen{generation}"


def is_ca_label(label: str) -> bool:
    """Whether a tlsCertificateExpiry key is a CA's (CA_LABEL or ca_label(N)), not a node's."""
    return label == CA_LABEL or re.fullmatch(rf"{CA_LABEL}-gen[0-9]+", label) is not None


def generate_certificates(
    prefix: str,
    specs: Mapping[str, tls.CertSpec],
    ca_generations: Sequence[int] = (1,),
    opts: pulumi.ResourceOptions | None = None,
) -> Certificates:
    """A CA `ca_name(prefix, N)` for each of `ca_generations` (the first signs), and for each `label -> spec` a key,
    a request and a certificate `<prefix>-tls-<label>` signed by the first CA.

    Each node certificate is replaced by `pulumi up` from EARLY_RENEWAL_HOURS before it expires, and when the signing
    CA changes (docs/security.md)."""

    def key(name: str) -> pulumi_tls.PrivateKey:
        return pulumi_tls.PrivateKey(name, algorithm=tls.KEY_ALGORITHM, rsa_bits=tls.RSA_BITS, opts=opts)

    cas = {}
    for generation in ca_generations:
        name = ca_name(prefix, generation)
        ca_key = key(f"{name}-key")
        ca = pulumi_tls.SelfSignedCert(
            name,
            private_key_pem=ca_key.private_key_pem,
            subject=pulumi_tls.SelfSignedCertSubjectArgs(common_name=tls.ca_common_name(prefix, generation)),
            is_ca_certificate=True,
            validity_period_hours=tls.CA_VALIDITY_HOURS,
            allowed_uses=list(tls.CA_USES),
            opts=opts,
        )
        cas[generation] = ca_key, ca
    signing = ca_generations[0]
    signing_key, signing_ca = cas[signing]
    # Lowest generation first, whichever signs: the bundle is the same in both steps of a rotation that list two.
    trusted = [cas[generation][1].cert_pem for generation in sorted(cas)]
    ca_bundle = pulumi.Output.all(*trusted).apply(tls.ca_bundle)
    files = {tls.CA_FILE: ca_bundle}
    expiry = {CA_LABEL if g == signing else ca_label(g): ca.validity_end_time for g, (_, ca) in cas.items()}
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
            ca_cert_pem=signing_ca.cert_pem,
            ca_private_key_pem=signing_key.private_key_pem,
            validity_period_hours=tls.CERT_VALIDITY_HOURS,
            early_renewal_hours=tls.EARLY_RENEWAL_HOURS,
            allowed_uses=list(spec.uses),
            opts=opts,
        )
        files[tls.cert_file(spec.name)] = cert.cert_pem
        files[tls.key_file(spec.name)] = pulumi.Output.secret(node_key.private_key_pem)
        expiry[label] = cert.validity_end_time
    return Certificates(ca_bundle, files, expiry)
