"""``--auth-extras``: the other two ways to log in to the embedded lake, for testing them.

- x509: a test CA (``<home>/certs``), a server certificate for 127.0.0.1 and a client
  certificate for the user (DN ``/O=vrelab/OU=embedded-lake/CN=<user>``, mapped to the user
  account); a second REST server speaks HTTPS on ``tls_port`` (default port+3) and passes the
  client's DN to Rucio, as Apache does on a production server. Config: ``etc/rucio-<user>-x509.cfg``.
- OIDC: a local token issuer on ``idp_port`` (default port+9) publishing its discovery document
  and signing keys; Rucio is told about it in ``etc/idpsecrets.json`` and the identity
  ``SUB=<user>, ISS=<issuer>`` maps to the user. ``LakeServer.oidc_token()`` / ``vrelab lake token``
  mint a JWT, which a client passes in ``$BEARER_TOKEN``. Config: ``etc/rucio-<user>-oidc.cfg``.

The issuer must answer before the REST server starts (Rucio reads the issuer's discovery document
when it sets up its OIDC clients), so ``prepare()`` runs before the server and ``finish()`` after.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from ..errors import LakeServerError
from .paths import SERVERSIDE_DIR
from .restapi import ping
from .settings import LakeSettings

if TYPE_CHECKING:
    from .manager import LakeServer

Progress = Callable[[str], None]


def x509_dn(user: str) -> str:
    return f"/O=vrelab/OU=embedded-lake/CN={user}"


def oidc_identity(settings: LakeSettings) -> str:
    return f"SUB={settings.user}, ISS={settings.issuer_url}"


def prepare(lake: LakeServer, settings: LakeSettings, report: Progress) -> None:
    """Certificates and the OIDC issuer (before the REST server starts)."""
    certs = lake.paths.certs
    cfg = lake.paths.server_cfg
    lake._script("certs.py", str(certs), settings.user, config=cfg, what="making test certificates")
    if lake.issuer.running_pid() is None:
        report(f"starting the OIDC issuer on {settings.issuer_url}")
        argv = [str(lake.venv.python), str(SERVERSIDE_DIR / "oidc_issuer.py"), "serve"]
        argv += ["--lake-home", str(lake.paths.home), "--port", str(settings.idp_port)]
        argv += ["--key", str(certs / "oidc.key")]
        lake.issuer.start(argv, lake._env(lake.paths.server_cfg), cwd=lake.paths.home)
        deadline = time.monotonic() + 30
        discovery = f"{settings.issuer_url}.well-known/openid-configuration"
        while True:
            try:
                if httpx.get(discovery, timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if lake.issuer.exited() is not None or time.monotonic() > deadline:
                tail = lake.issuer.log_tail(5)
                log = lake.issuer.log_file
                raise LakeServerError(f"the OIDC issuer did not start; see {log}: {tail[-200:]}")
            time.sleep(0.2)


def finish(lake: LakeServer, settings: LakeSettings, report: Progress) -> None:
    """Identities of the user, and the HTTPS server (after the REST server answers)."""
    spec = {
        "account": settings.user,
        "email": f"{settings.user}@localhost",
        "x509_dn": x509_dn(settings.user),
        "oidc": oidc_identity(settings),
    }
    spec_file = lake.paths.state / "identities.json"
    spec_file.write_text(json.dumps(spec))
    lake._script(
        "populate.py",
        "identities",
        str(spec_file),
        config=lake.paths.client_cfg("root"),
        what="adding identities",
    )
    if lake.tls_server.running_pid() is None:
        report(f"starting the HTTPS (x509) server on {settings.tls_url}")
        argv = [str(lake.venv.python), str(SERVERSIDE_DIR / "serve.py"), "--lake-home", str(lake.paths.home)]
        argv += ["--port", str(settings.tls_port), "--tls", str(lake.paths.certs)]
        if not settings.uses_sqlite:
            argv.append("--threads")
        lake.tls_server.start(argv, lake._env(lake.paths.server_cfg), cwd=lake.paths.home)
    ca = str(lake.paths.certs / "ca.pem")
    deadline = time.monotonic() + 90
    while ping(settings.tls_url, verify=ca) is None:
        if lake.tls_server.exited() is not None or time.monotonic() > deadline:
            raise LakeServerError(f"the HTTPS server did not start; see {lake.tls_server.log_file}")
        time.sleep(0.2)


def mint_token(lake: LakeServer, settings: LakeSettings, lifetime: int = 3600) -> str:
    if not settings.auth_extras:
        raise LakeServerError("this lake has no OIDC issuer: start it with `vrelab lake up --auth-extras`")
    key = lake.paths.certs / "oidc.key"
    out = lake._script(
        "oidc_issuer.py", "token", "--port", str(settings.idp_port), "--key", str(key),
        "--subject", settings.user, "--lifetime", str(lifetime),
        config=lake.paths.server_cfg, what="minting an OIDC token", log_output=False,
    )  # fmt: skip
    return out.strip()
