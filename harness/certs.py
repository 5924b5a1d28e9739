"""What pulumi-tls does for components/certificates.py (PrivateKey, SelfSignedCert, CertRequest, LocallySignedCert),
done with `cryptography` from the same inputs: the Pulumi mocks (harness/program.py) answer the
program's TLS resources with it, and the tests that run TLS-only nodes for real make their certificates with it
(Authority), so both get what `pulumi up` would make."""

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


def private_key(algorithm: str = tls.KEY_ALGORITHM, rsa_bits: int = tls.RSA_BITS) -> str:
    """PrivateKey's private_key_pem."""
    if algorithm != "RSA":
        raise ValueError(f"only RSA keys are made here, not {algorithm}")
    key = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def self_signed_cert(key_pem: str, common_name: str, hours: int, uses, is_ca: bool = True) -> str:
    """SelfSignedCert's cert_pem."""
    key = _key(key_pem)
    name = _name(common_name)
    return _pem(_build(name, name, key.public_key(), key, hours, uses, ca=is_ca))


def cert_request(key_pem: str, common_name: str, dns_names=(), ip_addresses=()) -> str:
    """CertRequest's cert_request_pem."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(_name(common_name))
    if dns_names or ip_addresses:
        builder = builder.add_extension(_san(dns_names, ip_addresses), critical=False)
    return builder.sign(_key(key_pem), hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def locally_signed_cert(request_pem: str, ca_cert_pem: str, ca_key_pem: str, hours: int, uses) -> str:
    """LocallySignedCert's cert_pem: the request's subject and names, signed by the CA."""
    request = x509.load_pem_x509_csr(request_pem.encode())
    ca = x509.load_pem_x509_certificate(ca_cert_pem.encode())
    try:
        san = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    return _pem(_build(request.subject, ca.subject, request.public_key(), _key(ca_key_pem), hours, uses, san=san))


def validity_end_time(cert_pem: str) -> str:
    """SelfSignedCert's and LocallySignedCert's validity_end_time: the certificate's NotAfter in RFC 3339, as
    terraform-provider-tls common_cert.go createCertificate records it (template.NotAfter.MarshalText)."""
    not_after = x509.load_pem_x509_certificate(cert_pem.encode()).not_valid_after_utc
    return not_after.strftime("%Y-%m-%dT%H:%M:%SZ")


class Authority:
    """A CA made as components/certificates.py makes it, issuing node certificates as it does."""

    def __init__(self, common_name: str = tls.CA_COMMON_NAME):
        self.key_pem = private_key()
        self.cert_pem = self_signed_cert(self.key_pem, common_name, tls.CA_VALIDITY_HOURS, tls.CA_USES)

    def files(self, spec: tls.CertSpec) -> dict[str, str]:
        """The files a node's secrets directory holds for `spec` (its certificate and key), by file name."""
        key = private_key()
        request = cert_request(key, spec.common_name, spec.dns_names, spec.ip_addresses)
        cert = locally_signed_cert(request, self.cert_pem, self.key_pem, tls.CERT_VALIDITY_HOURS, spec.uses)
        return {tls.cert_file(spec.name): cert, tls.key_file(spec.name): key}


def _key(pem: str):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(dns_names, ip_addresses) -> x509.SubjectAlternativeName:
    names = [x509.DNSName(n) for n in dns_names]
    return x509.SubjectAlternativeName(names + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses])


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _build(subject, issuer, public_key, signing_key, hours, uses, ca=False, san=None) -> x509.Certificate:
    unknown = set(uses) - KEY_USAGES - set(EXTENDED_USAGES)
    if unknown:
        raise ValueError(f"no X.509 mapping for allowed uses {sorted(unknown)}")
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
    if san:
        builder = builder.add_extension(san, critical=False)
    return builder.sign(signing_key, hashes.SHA256())
