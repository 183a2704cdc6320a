"""A logged-in rucio-clients ``Client`` for one instance and one identity.

What vrelab changes in rucio-clients' behaviour, and why:

- **Token files.** rucio-clients caches its token in ``$TMPDIR/.rucio_<os user>/`` named after the
  account only, so two instances (or a wrong and a right password) for the same account share one
  token: a wrong password would be "validated" by the token of the right one. Each session here
  has a token folder of its own under ``<data_dir>/lake-tokens/`` (0700, files 0600), removed
  when the session is dropped; ``[client] auth_token_file_path`` of a rucio.cfg is ignored.
- **OIDC.** The token comes from vrelab (an environment variable, a file JupyterHub refreshes, or
  a stored JWT), read again whenever Rucio refuses the current one. rucio-clients would instead
  start an interactive browser login (``input()``), which must never happen inside a server.
- **Logs.** rucio-clients logs request headers at DEBUG level, the password header included; its
  records go to the ``vrelab.lake.rucio`` logger here, through a filter that hides every secret.
- **No rucio.cfg.** Every connection setting comes from vrelab, yet parts of rucio-clients (the
  upload client, through the VO lookup of its file-naming plugins) fail with ``ConfigNotFound``
  when no rucio.cfg exists at all. A server without one gets an empty one of its own
  (``ensure_client_config``).
- **Token expiry** is taken from Rucio's ``X-Rucio-Auth-Token-Expires`` answer (or the JWT's
  ``exp``) so the API can report it.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import re
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from ..errors import Unauthorized, Unavailable, UpstreamError, VRELabError
from ..times import iso_utc
from .credentials import JWT_RE, Credentials
from .errors import rucio_errors
from .instances import Instance

RUCIO_LOG = logging.getLogger("vrelab.lake.rucio")
DEFAULT_TIMEOUT = 30.0
# told of every HTTP request to Rucio: its duration in seconds and the answer's status (None: no answer)
RequestObserver = Callable[[float, int | None], None]
_HEADER_SECRET = re.compile(r"(X-Rucio-(?:Password|Auth-Token)\s*:\s*)\S+", re.IGNORECASE)


class SecretFilter(logging.Filter):
    """Replaces the secrets of live sessions (and Rucio's secret headers) in log records."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *secrets: str) -> None:
        with self._lock:
            self._secrets.update(s for s in secrets if s and len(s) >= 4)

    def redact(self, text: str) -> str:
        text = _HEADER_SECRET.sub(r"\1[hidden]", text)
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, "[hidden]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: drop the record rather than risk a secret
            return False
        clean = self.redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


SECRETS = SecretFilter()
RUCIO_LOG.addFilter(SECRETS)


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (not verified: Rucio verifies the token; this is for display)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def read_oidc_token(creds: Credentials, env: dict[str, str] | None = None) -> str:
    """The current OIDC token from its source; 401 with the reason when there is none."""
    env = dict(os.environ) if env is None else env
    fields = creds.fields
    if "token" in fields:
        token = fields["token"]
    elif "token_env" in fields:
        token = env.get(fields["token_env"], "")
        if not token.strip():
            raise Unauthorized(f"The environment variable {fields['token_env']} holds no OIDC token.")
    else:
        path = Path(fields["token_file"])
        try:
            token = path.read_text()
        except OSError as exc:
            raise Unauthorized(f"The OIDC token file {path} cannot be read ({exc.strerror}).") from None
    token = token.strip()  # files and variables often end with a newline
    if not JWT_RE.fullmatch(token):
        raise Unauthorized("The OIDC token is not a JWT (three dot-separated base64url parts).")
    SECRETS.add(token)
    return token


def _check_not_expired(token: str) -> float | None:
    exp = jwt_expiry(token)
    if exp is not None and exp <= time.time():
        when = iso_utc(exp, timespec="seconds")
        raise Unauthorized(f"The OIDC token expired at {when}; get a fresh one (or let JupyterHub refresh it).")
    return exp


@functools.cache
def _client_class() -> type:
    from rucio.client import Client
    from rucio.client.baseclient import BaseClient
    from rucio.common.constants import HTTPMethod
    from rucio.common.exception import CannotAuthenticate
    from rucio.common.utils import build_url

    class RucioClient(Client):  # type: ignore[misc]
        """rucio-clients' ``Client`` with vrelab's token folder, OIDC source and expiry capture."""

        def __init__(
            self,
            *,
            token_dir: str,
            oidc: Callable[[], str] | None,
            observe: RequestObserver | None = None,
            **kwargs: Any,
        ) -> None:
            self.vrelab_token_dir = token_dir
            self.vrelab_oidc = oidc
            self.vrelab_observe = observe
            self.vrelab_token_expires: float | None = None
            argv0 = sys.argv[0] if sys.argv else None
            try:
                super().__init__(**kwargs)
            finally:
                if argv0 is not None:  # rucio-clients rewrites the server's sys.argv[0]
                    sys.argv[0] = argv0

        def _get_auth_tokens(self) -> tuple[str | None, str, str, str]:
            suffix = "for_default_account" if self.account is None else f"for_account_{self.account}"
            folder = self.vrelab_token_dir
            return None, f"{folder}/{self.TOKEN_EXP_PREFIX}{suffix}", f"{folder}/{self.TOKEN_PREFIX}{suffix}", folder

        def _use_token(self, token: str) -> None:
            self.auth_token = token
            self.headers["X-Rucio-Auth-Token"] = token
            self.vrelab_token_expires = jwt_expiry(token)

        # name-mangled hooks of BaseClient: read the OIDC token from vrelab, never interactively
        def _BaseClient__read_token(self) -> bool:
            if self.vrelab_oidc is not None:
                self._use_token(self.vrelab_oidc())
                return True
            return BaseClient._BaseClient__read_token(self)  # type: ignore[attr-defined]

        def _BaseClient__get_token_oidc(self) -> bool:
            assert self.vrelab_oidc is not None
            token = self.vrelab_oidc()
            if token == self.auth_token:
                raise CannotAuthenticate("Rucio refused the OIDC token (expired, revoked or not mapped to the account)")
            self._use_token(token)
            return True

        def vrelab_search_dids(
            self, scope: str, filters: list[dict[str, str]], did_type: str, limit: int
        ) -> Iterator[dict[str, Any]]:
            """``list_dids(long=True)`` with the server-side ``limit`` rucio-clients does not pass."""
            params = {"type": did_type, "filters": filters, "long": True, "limit": limit}
            path = "/".join([self.DIDS_BASEURL, quote_plus(scope), "dids", "search"])
            r = self._send_request(build_url(self.host, path=path, params=params), method=HTTPMethod.GET)
            if r.status_code != 200:
                exc_cls, exc_msg = self._get_exception(headers=r.headers, status_code=r.status_code, data=r.content)
                raise exc_cls(exc_msg)
            return self._load_json_data(r)

        def _send_request(self, url: str, method: Any, headers: Any = None, *args: Any, **kwargs: Any) -> Any:
            # every request to Rucio passes here (logins included): the one place its latency is measured
            started = time.perf_counter()
            try:
                result = super()._send_request(url, method, headers, *args, **kwargs)
            except BaseException:
                if self.vrelab_observe is not None:
                    self.vrelab_observe(time.perf_counter() - started, None)
                raise
            if self.vrelab_observe is not None:
                self.vrelab_observe(time.perf_counter() - started, getattr(result, "status_code", None))
            expires = getattr(result, "headers", {}).get("X-Rucio-Auth-Token-Expires")
            if expires:
                try:
                    self.vrelab_token_expires = parsedate_to_datetime(expires).timestamp()
                except (TypeError, ValueError):
                    pass
            return result

    return RucioClient


class Session:
    """A rucio ``Client`` logged in to one instance as one identity."""

    def __init__(
        self,
        instance: Instance,
        creds: Credentials,
        token_root: Path,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        observe: RequestObserver | None = None,
    ):
        self.instance = instance
        self.creds = creds
        SECRETS.add(*creds.secrets())
        token_root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.token_dir = token_root / f"{instance.name}-{uuid.uuid4().hex[:12]}"
        self.token_dir.mkdir(mode=0o700)
        self._oidc: Callable[[], str] | None = None
        kwargs: dict[str, Any] = {
            "rucio_host": instance.rucio_host,
            "auth_host": instance.auth_host,
            "account": creds.account,
            "ca_cert": instance.ca_cert or True,
            "vo": instance.vo,
            "timeout": timeout,
            "logger": RUCIO_LOG,
            "user_agent": "vrelab",
        }
        f = creds.fields
        if creds.auth_type == "userpass":
            kwargs.update(auth_type="userpass", creds={"username": f["username"], "password": f["password"]})
        elif creds.auth_type == "x509":
            kwargs.update(auth_type="x509", creds={"client_cert": f["certificate"], "client_key": f["key"]})
        elif creds.auth_type == "x509_proxy":
            kwargs.update(auth_type="x509_proxy", creds={"client_proxy": f["proxy"]})
        else:
            self._oidc = self._current_oidc_token
            kwargs.update(auth_type="oidc", creds={})
        try:
            with diagnosed(instance, creds), rucio_errors(instance.auth_host, SECRETS.redact):
                self.client = _client_class()(
                    token_dir=str(self.token_dir), oidc=self._oidc, observe=observe, **kwargs
                )
        except BaseException:
            self.close()
            raise

    def _current_oidc_token(self) -> str:
        token = read_oidc_token(self.creds)
        _check_not_expired(token)
        return token

    @property
    def host(self) -> str:
        return self.instance.rucio_host

    def refresh(self) -> None:
        """Before use: an OIDC token is read again from its source (JupyterHub may have renewed it),
        and an expired one is a 401 before anything is sent."""
        if self._oidc is not None:
            token = self._oidc()
            if token != self.client.auth_token:
                self.client._use_token(token)

    def token_expires(self) -> float | None:
        """When the current Rucio token expires (Unix time), if Rucio or the JWT says."""
        return self.client.vrelab_token_expires

    def whoami(self) -> dict[str, Any]:
        with rucio_errors(self.host, SECRETS.redact):
            info = self.client.whoami()
        return {"account": info.get("account"), "status": info.get("status"), "email": info.get("email")}

    def close(self) -> None:
        shutil.rmtree(self.token_dir, ignore_errors=True)


@contextmanager
def diagnosed(instance: Instance, creds: Credentials | None = None) -> Iterator[None]:
    """rucio-clients reports every failed connection as ``ServerConnectionException``, whatever the
    cause; when one escapes, look once more (a plain ``/ping``) to say what is really wrong."""
    try:
        yield
    except Unavailable as exc:
        if exc.details.get("rucio_error") != "ServerConnectionException":
            raise
        better = _diagnose(instance, creds)
        if better is None:
            raise
        raise better from None


def _diagnose(instance: Instance, creds: Credentials | None) -> VRELabError | None:
    import requests

    for host in dict.fromkeys((instance.auth_host, instance.rucio_host)):
        try:
            requests.get(f"{host}/ping", verify=instance.ca_cert or True, timeout=5)
        except requests.exceptions.SSLError:
            return UpstreamError(
                f"The certificate of the data lake at {host} could not be verified: is the instance's ca_cert "
                "(VRELab.lake_instances) the right CA bundle?",
                details={"rucio_error": "SSLError"},
            )
        except requests.RequestException:
            return None  # really unreachable: the 503 stands
    if creds is not None and creds.auth_type in ("x509", "x509_proxy"):
        return Unauthorized(
            f"The data lake at {instance.auth_host} answers, but your certificate or key could not be used to "
            "log in: they must be PEM files that belong together, with an unencrypted key.",
            details={"rucio_error": "SSLError"},
        )
    return None


def reset_token_root(token_root: Path) -> None:
    """Token folders of a previous server run are useless (their sessions are gone): remove them."""
    if token_root.exists():
        shutil.rmtree(token_root, ignore_errors=True)
    token_root.mkdir(parents=True, mode=0o700)
    os.chmod(token_root, 0o700)


EMPTY_CONFIG = """\
# Written by vrelab because this server found no rucio.cfg: rucio-clients needs one to exist, even
# empty. vrelab gives Rucio's hosts and identities to rucio-clients itself; nothing belongs here.
[client]
"""


def ensure_client_config(data_dir: Path) -> Path | None:
    """Point ``RUCIO_CONFIG`` at an empty rucio.cfg in ``data_dir`` when rucio-clients finds none.

    Returns the file written, or None when a rucio.cfg exists (it is then left alone).
    """
    try:
        from rucio.common.config import clean_cached_config, get_config
        from rucio.common.exception import ConfigNotFound
    except ImportError:  # no lake extra: nothing reads a rucio.cfg
        return None
    try:
        get_config()
        return None
    except ConfigNotFound:
        pass
    path = data_dir / "rucio.cfg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(EMPTY_CONFIG)
    path.chmod(0o600)
    os.environ["RUCIO_CONFIG"] = str(path)
    clean_cached_config()
    return path
