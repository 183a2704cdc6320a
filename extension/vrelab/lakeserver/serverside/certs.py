"""A test certificate authority for the embedded lake's ``--auth-extras`` (server venv only).

    python certs.py CERTDIR USER

Writes (once; existing files are kept) ``ca.pem``/``ca.key``, a server certificate for
127.0.0.1/localhost (``server.pem``/``server.key``) and a client certificate for the user
(``<user>.pem``/``<user>.key``, subject ``/O=vrelab/OU=embedded-lake/CN=<user>``). Keys are 0600.
Prints the user's DN in the slash form Rucio's x509 identities use.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import sys
from pathlib import Path
from typing import Any

from _common import fail

ORG, UNIT = "vrelab", "embedded-lake"


def _write(path: Path, data: bytes, private: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _name(*parts: tuple[Any, str]) -> Any:
    from cryptography import x509

    return x509.Name([x509.NameAttribute(oid, value) for oid, value in parts])


def _cert(subject: Any, key: Any, issuer: Any, issuer_key: Any, extensions: list[tuple[Any, bool]]) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=825))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def make(certdir: Path, user: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    certdir.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    if not (certdir / "ca.pem").exists() or not (certdir / "ca.key").exists():
        ca_key = _key()
        ca_name = _name((NameOID.ORGANIZATION_NAME, ORG), (NameOID.COMMON_NAME, "vrelab lake test CA"))
        is_ca = (x509.BasicConstraints(ca=True, path_length=None), True)
        ca = _cert(ca_name, ca_key, ca_name, ca_key, [is_ca])
        _write(certdir / "ca.key", _pem_key(ca_key), private=True)
        _write(certdir / "ca.pem", ca.public_bytes(pem))
        for stale in ("server.pem", f"{user}.pem"):
            (certdir / stale).unlink(missing_ok=True)
    ca = x509.load_pem_x509_certificate((certdir / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((certdir / "ca.key").read_bytes(), password=None)
    not_ca = (x509.BasicConstraints(ca=False, path_length=None), True)
    if not (certdir / "server.pem").exists():
        key = _key()
        local = ipaddress.ip_address("127.0.0.1")
        alt = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(local)])
        cert = _cert(
            _name((NameOID.COMMON_NAME, "localhost")), key, ca.subject, ca_key,
            [not_ca, (alt, False), (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)],
        )  # fmt: skip
        _write(certdir / "server.key", _pem_key(key), private=True)
        _write(certdir / "server.pem", cert.public_bytes(pem))
    subject = _name(
        (NameOID.ORGANIZATION_NAME, ORG),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, UNIT),
        (NameOID.COMMON_NAME, user),
    )
    if not (certdir / f"{user}.pem").exists():
        key = _key()
        cert = _cert(
            subject, key, ca.subject, ca_key,
            [not_ca, (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)],
        )  # fmt: skip
        _write(certdir / f"{user}.key", _pem_key(key), private=True)
        _write(certdir / f"{user}.pem", cert.public_bytes(pem))
    return f"/O={ORG}/OU={UNIT}/CN={user}"


if __name__ == "__main__":
    if len(sys.argv) != 3:
        fail("usage: certs.py CERTDIR USER")
    try:
        print(make(Path(sys.argv[1]), sys.argv[2]))
    except Exception as exc:
        fail(f"making the test certificates failed: {type(exc).__name__}: {exc}")
