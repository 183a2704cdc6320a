"""A local OIDC token issuer for the embedded lake's ``--auth-extras`` (server venv only).

    python oidc_issuer.py serve --lake-home HOME --port PORT --key KEYFILE
    python oidc_issuer.py token --port PORT --key KEYFILE --subject SUB [--lifetime SECONDS]

``serve`` publishes the OpenID discovery document and the JSON Web Key Set of an RSA key (made on
first use), which is all Rucio needs to validate a JWT offline; ``token`` prints an RS256-signed
access token for ``SUB`` with the audience and scope Rucio expects by default (``rucio``,
``openid profile``). The lake maps the identity ``SUB=<sub>, ISS=<issuer>`` to its user account.
Tokens are minted locally only: there is no login page, no client secret, no refresh.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from _common import fail, short

KEY_ID = "vrelab-lake-oidc"
AUDIENCE = "rucio"
SCOPE = "openid profile"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64url(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def load_key(path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def issuer_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/"


def discovery(port: int) -> dict[str, Any]:
    iss = issuer_url(port)
    return {
        "issuer": iss,
        "authorization_endpoint": iss + "authorize",
        "token_endpoint": iss + "token",
        "introspection_endpoint": iss + "introspect",
        "userinfo_endpoint": iss + "userinfo",
        "jwks_uri": iss + "jwks",
        "response_types_supported": ["code", "token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "grant_types_supported": ["authorization_code", "urn:ietf:params:oauth:grant-type:token-exchange"],
    }


def jwks(key: Any) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KEY_ID}
    jwk |= {"n": _int_b64url(numbers.n), "e": _int_b64url(numbers.e)}
    return {"keys": [jwk]}


def mint(port: int, key: Any, subject: str, lifetime: int = 3600) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}
    claims = {
        "iss": issuer_url(port),
        "sub": subject,
        "aud": AUDIENCE,
        "scope": SCOPE,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": os.urandom(12).hex(),
    }
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


def serve(port: int, key: Any) -> None:
    documents = {
        "/.well-known/openid-configuration": json.dumps(discovery(port)).encode(),
        "/jwks": json.dumps(jwks(key)).encode(),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = documents.get(self.path.split("?")[0].rstrip("/") or "/")
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            print(f"{self.address_string()} {format % args}", flush=True)

    try:
        server = HTTPServer(("127.0.0.1", port), Handler)
    except OSError as exc:
        fail(f"the OIDC issuer cannot listen on 127.0.0.1:{port}: {short(exc)}")
    print(f"OIDC issuer {issuer_url(port)} ready", flush=True)
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["serve", "token"])
    parser.add_argument("--lake-home", help="the lake's state dir (identifies the process)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--subject")
    parser.add_argument("--lifetime", type=int, default=3600)
    args = parser.parse_args()
    key = load_key(args.key)
    if args.command == "serve":
        serve(args.port, key)
    else:
        if not args.subject:
            fail("token needs --subject")
        print(mint(args.port, key, args.subject, args.lifetime))


if __name__ == "__main__":
    main()
