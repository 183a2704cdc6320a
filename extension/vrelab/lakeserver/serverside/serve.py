"""Serve the Rucio REST API of the embedded lake (server venv only).

    RUCIO_CONFIG=<home>/etc/rucio.cfg python serve.py --lake-home HOME --port PORT [--threads]
    RUCIO_CONFIG=... python serve.py --lake-home HOME --port PORT --tls CERTDIR

Plain HTTP by default. On SQLite the server MUST be single-threaded (concurrent writers get
"database is locked"), so ``--threads`` is only passed for PostgreSQL. With ``--tls`` it serves
HTTPS with an optional client certificate and passes the client's DN to Rucio as
``SSL_CLIENT_S_DN`` in the legacy slash form (``/O=vrelab/CN=...``), which is what Rucio's
``/auth/x509`` endpoint reads (Apache's mod_ssl does this on a production server).
"""

from __future__ import annotations

import argparse
import ssl
from typing import Any

from _common import fail, short

_RDN_SHORT = {
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "commonName": "CN",
    "emailAddress": "emailAddress",
}


def _slash_dn(subject: Any) -> str:
    return "".join(f"/{_RDN_SHORT.get(key, key)}={value}" for rdn in subject for key, value in rdn)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lake-home", required=True, help="the lake's state dir (identifies the process)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", action="store_true")
    parser.add_argument("--tls", metavar="CERTDIR", help="serve HTTPS with ca.pem, server.pem, server.key")
    args = parser.parse_args()

    import sqlite_tuning
    from werkzeug.serving import WSGIRequestHandler, run_simple

    sqlite_tuning.install()

    try:
        from rucio.web.rest.flaskapi.v1.main import application
    except Exception as exc:
        fail(f"the Rucio REST application does not load: {short(exc)}")
    app: Any = application
    if not args.threads:  # SQLite
        app = sqlite_tuning.RetryOnLockedDatabase(application)

    handler: type[WSGIRequestHandler] = WSGIRequestHandler
    context = None
    if args.tls:

        class ClientCertHandler(WSGIRequestHandler):
            def make_environ(self) -> dict[str, Any]:
                environ = super().make_environ()
                try:
                    cert = self.connection.getpeercert()  # type: ignore[attr-defined]
                except (AttributeError, ValueError, ssl.SSLError):
                    cert = None
                if cert:
                    environ["SSL_CLIENT_S_DN"] = _slash_dn(cert.get("subject", ()))
                return environ

        handler = ClientCertHandler
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(f"{args.tls}/server.pem", f"{args.tls}/server.key")
        context.load_verify_locations(f"{args.tls}/ca.pem")
        context.verify_mode = ssl.CERT_OPTIONAL  # userpass clients without a certificate still work

    try:
        run_simple(
            "127.0.0.1",
            args.port,
            app,
            threaded=args.threads,
            request_handler=handler,
            ssl_context=context,
        )
    except OSError as exc:
        fail(f"cannot listen on 127.0.0.1:{args.port}: {short(exc)}")


if __name__ == "__main__":
    main()
