"""Credentials for the data lake, kept on the server in files only its user can read.

The API accepts them, the service checks them against Rucio, and only then they are stored:
``<data_dir>/lake-credentials/<instance>/`` (0700) holding ``credentials.json`` and any pasted PEM
file (0600). Afterwards the API only ever says *which* identity is stored and where its secret
comes from — never the secret.

Auth types (as in rucio-clients and rucio-jupyterlab):

- ``userpass``: ``account``, ``username`` (default: the account), ``password`` (in the operator's
  configuration also ``password_file``, so the password is not in the Jupyter config, which
  jupyter_server logs at DEBUG level);
- ``x509``: ``certificate`` and ``key`` as paths relative to the user's root folder, or
  ``certificate_pem`` / ``key_pem`` with the PEM text itself;
- ``x509_proxy``: ``proxy`` (a path) or ``proxy_pem``;
- ``oidc``: exactly one of ``token_env`` (the name of an environment variable of the server),
  ``token_file`` (a path; the file may be refreshed by JupyterHub) or ``token`` (the JWT itself);
  with none, the instance's configured source (``oidc_token_env`` / ``oidc_token_file``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import BadRequest, Forbidden
from ..paths import resolve_inside
from .instances import AUTH_TYPES, Instance

# the same patterns and limits as openapi/lake.yaml (a unit test compares them)
ACCOUNT_RE = re.compile(r"^[a-z0-9_-]{1,25}$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
HEADER_SAFE_RE = re.compile(r"^[\x20-\x7E]+$")  # sent in HTTP headers: printable ASCII only
JWT_RE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
PATH_RE = re.compile(r"^[^\x00]+$")
PEM_RE = re.compile(r"^[^\x00]*-----BEGIN [^\x00]*$")
MAX_PATH = 4096
MAX_PEM = 64 * 1024
MAX_PASSWORD = 1024
MAX_USERNAME = 255
MAX_SECRET = 16 * 1024
# which fields each auth type takes (besides auth_type and account)
FIELDS = {
    "userpass": {"username", "password"},
    "x509": {"certificate", "key", "certificate_pem", "key_pem"},
    "x509_proxy": {"proxy", "proxy_pem"},
    "oidc": {"token_env", "token_file", "token"},
}
# fields holding a secret itself (never shown, never logged)
SECRET_FIELDS = ("password", "token")
# fields naming a file; the "<field>_source" field says where it came from (shown to the user)
FILE_FIELDS = ("certificate", "key", "proxy")
_INLINE = "@"  # a file field starting with this names a file of the stored credentials folder


class Credentials(NamedTuple):
    """An identity: ``fields`` hold a password, file paths or a token source, by auth type."""

    auth_type: str
    account: str
    fields: dict[str, str]

    def __repr__(self) -> str:  # a repr must never carry a secret into a log or traceback
        return f"Credentials(auth_type={self.auth_type!r}, account={self.account!r})"

    def secrets(self) -> list[str]:
        return [self.fields[k] for k in SECRET_FIELDS if self.fields.get(k)]

    def public(self) -> dict[str, Any]:
        """Who, and where the secret comes from: safe to show."""
        out: dict[str, Any] = {"auth_type": self.auth_type, "account": self.account}
        f = self.fields
        if self.auth_type == "userpass":
            out["username"] = f["username"]
        for name in FILE_FIELDS:
            if name in f or f"{name}_source" in f:
                out[name] = f.get(f"{name}_source", "configured")
        if self.auth_type == "oidc":
            if "token_env" in f:
                out["token_source"] = f"env:{f['token_env']}"
            else:
                out["token_source"] = (
                    f"file:{f.get('token_file_source', f['token_file'])}" if "token_file" in f else "stored"
                )
        return out


@dataclass
class Draft:
    """Credentials from a request, before they are checked; PEM text still in memory."""

    creds: Credentials
    pems: dict[str, str] = field(default_factory=dict)  # file field -> PEM text

    def __repr__(self) -> str:
        return f"Draft({self.creds!r})"


def _text(
    body: dict[str, Any], key: str, *, required: bool = True, limit: int = MAX_PATH, pattern: re.Pattern[str] = PATH_RE
) -> str:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise BadRequest(f"'{key}' is required for this auth type.", details={"field": key})
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"'{key}' must be a string.", details={"field": key})
    if len(value) > limit:
        raise BadRequest(f"'{key}' is too long (at most {limit} characters).", details={"field": key})
    if not pattern.fullmatch(value):
        raise BadRequest(f"'{key}' holds characters it may not hold.", details={"field": key})
    return value


def _pem(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if isinstance(value, str) and value and not PEM_RE.fullmatch(value):
        raise BadRequest(f"'{key}' must be PEM text (-----BEGIN ...-----).", details={"field": key})
    return _text(body, key, required=False, limit=MAX_PEM, pattern=PEM_RE)


class Resolver:
    """Turns user-given paths into absolute ones: inside the user's root folder, or one of the
    files the operator configured (trusted=True for the operator's own configuration)."""

    def __init__(self, root: Path, allowed: set[str] | None = None, *, trusted: bool = False):
        self.root = root
        self.allowed = allowed or set()
        self.trusted = trusted

    def __call__(self, value: str, what: str) -> str:
        path = os.path.expanduser(value.strip())
        if self.trusted or path in self.allowed:
            return path
        if os.path.isabs(path):
            # an absolute path inside the root is fine; anything else is refused by resolve_inside
            try:
                path = str(Path(path).resolve().relative_to(self.root.resolve()))
            except ValueError:
                raise Forbidden(
                    f"The {what} must be a file in your home folder (a relative path), or paste its content.",
                    details={"field": what},
                ) from None
        return str(resolve_inside(self.root, path, must_exist=True))


def _files(body: dict[str, Any], names: tuple[str, ...], resolve: Resolver) -> tuple[dict[str, str], dict[str, str]]:
    """Files given all as paths (in the user's root folder) or all as pasted PEM text."""
    paths = {n: _text(body, n, required=False) for n in names}
    texts = {n: _pem(body, f"{n}_pem") for n in names}
    both = " and ".join(f"'{n}'" for n in names)
    both_pem = " and ".join(f"'{n}_pem'" for n in names)
    if any(texts.values()):
        if any(paths.values()) or not all(texts.values()):
            raise BadRequest(f"Give {both} as paths in your home folder, or {both_pem} as PEM text (not a mix).")
        return {f"{n}_source": "pasted" for n in names}, texts
    if not all(paths.values()):
        raise BadRequest(f"{both} (paths in your home folder) or {both_pem} (PEM text) are required.")
    fields: dict[str, str] = {}
    for n in names:
        fields[n] = resolve(paths[n], n)
        fields[f"{n}_source"] = paths[n]
    return fields, {}


def _read_password_file(path: str) -> str:
    try:
        password = Path(path).expanduser().read_text().rstrip("\r\n")
    except OSError as exc:
        raise BadRequest(f"The password file {path} cannot be read ({exc.strerror}).") from None
    if not password or len(password) > MAX_PASSWORD or not HEADER_SAFE_RE.fullmatch(password):
        raise BadRequest(f"The password file {path} does not hold a usable password.")
    return password


def parse(body: dict[str, Any], instance: Instance, resolve: Resolver) -> Draft:
    """Credentials from a request body (or the operator's ``auth``), checked for shape only."""
    auth_type = body.get("auth_type") or instance.default_auth_type
    if auth_type not in AUTH_TYPES:
        raise BadRequest(f"auth_type must be one of {', '.join(AUTH_TYPES)}.", details={"auth_type": str(auth_type)})
    # the operator's configuration may name a password file (jupyter_server logs its config at DEBUG)
    extra = {"password_file"} if resolve.trusted and auth_type == "userpass" else set()
    unknown = set(body) - FIELDS[auth_type] - extra - {"auth_type", "account"}
    if unknown:
        raise BadRequest(
            f"Unknown field(s) for {auth_type}: {', '.join(sorted(map(str, unknown)))}.",
            details={"allowed": sorted(FIELDS[auth_type])},
        )
    account = _text(body, "account", limit=25, pattern=ACCOUNT_RE)
    fields: dict[str, str] = {}
    pems: dict[str, str] = {}
    if auth_type == "userpass":
        username = _text(body, "username", required=False, limit=MAX_USERNAME, pattern=HEADER_SAFE_RE)
        fields["username"] = username or account
        if body.get("password_file") and "password" not in body:
            fields["password"] = _read_password_file(_text(body, "password_file"))
        else:
            fields["password"] = _text(body, "password", limit=MAX_PASSWORD, pattern=HEADER_SAFE_RE)
    elif auth_type == "x509":
        fields, pems = _files(body, ("certificate", "key"), resolve)
    elif auth_type == "x509_proxy":
        fields, pems = _files(body, ("proxy",), resolve)
    else:
        env_name = _text(body, "token_env", required=False, limit=128, pattern=ENV_RE)
        file_name = _text(body, "token_file", required=False)
        token = _text(body, "token", required=False, limit=MAX_SECRET, pattern=JWT_RE)
        if not (env_name or file_name or token):
            env_name, file_name = instance.oidc_token_env or "", instance.oidc_token_file or ""
        given = sum(bool(x) for x in (env_name, file_name, token))
        if given != 1:
            raise BadRequest(
                "For OIDC give exactly one of 'token_env' (an environment variable's name), 'token_file' "
                "(a path) or 'token' (the JWT itself)."
            )
        if env_name:
            fields["token_env"] = env_name
        elif file_name:
            fields["token_file"] = resolve(file_name, "token_file")
            fields["token_file_source"] = file_name
        else:
            fields["token"] = token
    return Draft(Credentials(auth_type, account, fields), pems)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


class CredentialStore:
    """One folder per instance (0700) in ``folder`` (0700); every file in it 0600."""

    FILE = "credentials.json"

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        for stale in folder.glob(".pending-*"):  # left by a server that stopped mid-check
            shutil.rmtree(stale, ignore_errors=True)

    def _dir(self, instance: str) -> Path:
        return self.folder / instance

    def _private_dir(self, path: Path) -> Path:
        path.mkdir(mode=0o700)
        os.chmod(path, 0o700)
        return path

    def _materialise(self, draft: Draft, folder: Path) -> Credentials:
        fields = dict(draft.creds.fields)
        for name, text in draft.pems.items():
            target = folder / f"{name}.pem"
            _write_private(target, text if text.endswith("\n") else text + "\n")
            fields[name] = str(target)
        return draft.creds._replace(fields=fields)

    def stage(self, draft: Draft) -> tuple[Credentials, Path]:
        """The draft with its PEM texts in a private scratch folder (for checking them); remove
        the folder with :meth:`discard` afterwards."""
        folder = self._private_dir(self.folder / f".pending-{uuid.uuid4().hex}")
        return self._materialise(draft, folder), folder

    def discard(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    def save(self, instance: str, draft: Draft) -> Credentials:
        """Store (replacing what was stored); returns the stored credentials."""
        new = self._private_dir(self.folder / f".pending-{uuid.uuid4().hex}")
        creds = self._materialise(draft, new)
        fields = {k: (_INLINE + Path(v).name if k in draft.pems else v) for k, v in creds.fields.items()}
        record = {"auth_type": creds.auth_type, "account": creds.account, "fields": fields}
        _write_private(new / self.FILE, json.dumps(record))
        target = self._dir(instance)
        old = self.folder / f".pending-{uuid.uuid4().hex}"
        if target.exists():
            os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
        return self.load(instance) or creds

    def load(self, instance: str) -> Credentials | None:
        folder = self._dir(instance)
        try:
            data = json.loads((folder / self.FILE).read_text())
        except FileNotFoundError:
            return None
        fields = {
            k: str(folder / v[len(_INLINE) :]) if k in FILE_FIELDS and v.startswith(_INLINE) else v
            for k, v in data["fields"].items()
        }
        return Credentials(data["auth_type"], data["account"], fields)

    def delete(self, instance: str) -> bool:
        folder = self._dir(instance)
        if not folder.exists():
            return False
        shutil.rmtree(folder)
        return True
