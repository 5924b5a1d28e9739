"""The certificates components/certificates.py has pulumi-tls make, made here with `cryptography` from the same
parameters (components/tls.py), for the tests that run TLS-only nodes for real."""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from components import tls

# pulumi-tls' allowed_uses, as X.509 key usages and extended key usages.
KEY_USAGES = {"digital_signature", "key_encipherment", "cert_signing", "crl_signing"}
EXTENDED_USAGES = {"server_auth": ExtendedKeyUsageOID.SERVER_AUTH, "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH}


class Authority:
    """A CA made as components/certificates.py makes it, signing certificates as pulumi-tls' LocallySignedCert."""

    def __init__(self, common_name: str = tls.CA_COMMON_NAME):
        self.key = _new_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        self.cert = _build(name, name, self.key.public_key(), self.key, tls.CA_VALIDITY_HOURS, tls.CA_USES, ca=True)

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, spec: tls.CertSpec) -> tuple[str, str]:
        """(certificate PEM, private key PEM) for `spec`."""
        key = _new_key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name)])
        cert = _build(
            subject, self.cert.subject, key.public_key(), self.key, tls.CERT_VALIDITY_HOURS, spec.uses, spec=spec
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()

    def files(self, spec: tls.CertSpec) -> dict[str, str]:
        """The files a node's secrets directory holds for `spec`, by file name."""
        cert, key = self.issue(spec)
        return {tls.cert_file(spec.name): cert, tls.key_file(spec.name): key}


def _new_key() -> rsa.RSAPrivateKey:
    assert tls.KEY_ALGORITHM == "RSA"
    return rsa.generate_private_key(public_exponent=65537, key_size=tls.RSA_BITS)


def _build(subject, issuer, public_key, signing_key, hours, uses, ca=False, spec: tls.CertSpec | None = None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=hours))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature="digital_signature" in uses,
                content_commitment=False,
                key_encipherment="key_encipherment" in uses,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign="cert_signing" in uses,
                crl_sign="crl_signing" in uses,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    extended = [EXTENDED_USAGES[use] for use in uses if use in EXTENDED_USAGES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    if spec and (spec.dns_names or spec.ip_addresses):
        names = [x509.DNSName(n) for n in spec.dns_names]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ip_addresses]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    unknown = set(uses) - KEY_USAGES - set(EXTENDED_USAGES)
    if unknown:
        raise ValueError(f"no X.509 mapping for allowed uses {sorted(unknown)}")
    return builder.sign(signing_key, hashes.SHA256())
