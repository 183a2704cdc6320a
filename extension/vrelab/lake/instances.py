"""Rucio instances from configuration: vrelab's own format and rucio-jupyterlab's.

vrelab's format (``c.VRELab.lake_instances``, or ``VRELAB_LAKE_INSTANCES`` as JSON)::

    {"name": "escape", "display_name": "ESCAPE Data Lake",
     "rucio_host": "https://rucio.example.org", "auth_host": "https://rucio-auth.example.org",
     "vo": "def", "ca_cert": "/etc/pki/tls/certs/ca-bundle.crt",
     "rucio_webui_url": "https://rucio-ui.example.org",
     "destination_rse": "NAPOLI-DISK", "rule_lifetime_days": 14,
     "oidc_token_file": "/tmp/rucio_oauth.token",
     "auth": {"auth_type": "userpass", "account": ..., ...}}   # optional identity for everyone

rucio-jupyterlab's format (``c.RucioConfig.instances``) is accepted as it is, so an operator can
switch without rewriting it: ``rucio_base_url``, ``rucio_auth_url``, ``rucio_ca_cert``,
``rucio_webui_url``, ``site_name``, ``vo``, ``destination_rse``,
``replication_rule_lifetime_days``, ``oidc_auth`` + ``oidc_env_name`` / ``oidc_file_name``, and
the global ``default_instance`` / ``default_auth_type``. An entry ``{"$url": "https://..."}`` is
completed from the JSON document at that address (keys given locally win). Keys that only make
sense for rucio-jupyterlab's own modes (``mode``, ``rse_mount_path``, ``voms_*``...) are ignored.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from ..errors import NotFound

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
AUTH_TYPES = ("userpass", "x509", "x509_proxy", "oidc")

# key in either format -> our field
_ALIASES = {
    "rucio_host": "rucio_host",
    "rucio_base_url": "rucio_host",
    "auth_host": "auth_host",
    "rucio_auth_url": "auth_host",
    "ca_cert": "ca_cert",
    "rucio_ca_cert": "ca_cert",
    "rucio_webui_url": "webui_url",
    "webui_url": "webui_url",
    "display_name": "display_name",
    "site_name": "site_name",
    "vo": "vo",
    "destination_rse": "destination_rse",
    "rule_lifetime_days": "rule_lifetime_days",
    "replication_rule_lifetime_days": "rule_lifetime_days",
    "oidc_token_env": "oidc_token_env",
    "oidc_env_name": "oidc_token_env",
    "oidc_token_file": "oidc_token_file",
    "oidc_file_name": "oidc_token_file",
    "default_auth_type": "default_auth_type",
    "auth": "auth",
}
# rucio-jupyterlab keys that belong to its replica/download modes, VOMS or its front end
_IGNORED = {
    "name",
    "mode",
    "rse_mount_path",
    "path_begins_at",
    "wildcard_enabled",
    "app_id",
    "oidc_auth",
    "voms_enabled",
    "voms_certdir_path",
    "voms_vomses_path",
    "voms_vomsdir_path",
    "$url",
}


class Instance(NamedTuple):
    """One Rucio instance, normalised."""

    name: str
    display_name: str
    rucio_host: str
    auth_host: str
    vo: str
    ca_cert: str | None
    webui_url: str | None
    site_name: str | None
    destination_rse: str | None  # default RSE of "make available"
    rule_lifetime_days: float | None  # default lifetime of rules made from vrelab
    oidc_token_env: str | None  # where OIDC tokens come from when a user does not say
    oidc_token_file: str | None
    default_auth_type: str | None
    shared_auth: dict[str, Any] | None  # an identity the operator configured for every user

    def public(self) -> dict[str, Any]:
        """What the API shows: never the shared identity's secrets."""
        return {
            "name": self.name,
            "display_name": self.display_name,
            "rucio_host": self.rucio_host,
            "auth_host": self.auth_host,
            "vo": self.vo,
            "webui_url": self.webui_url,
            "site_name": self.site_name,
            "destination_rse": self.destination_rse,
            "rule_lifetime_days": self.rule_lifetime_days,
            "default_auth_type": self.default_auth_type,
            "oidc_token_source": (
                f"env:{self.oidc_token_env}"
                if self.oidc_token_env
                else f"file:{self.oidc_token_file}"
                if self.oidc_token_file
                else None
            ),
            "has_shared_identity": self.shared_auth is not None,
        }


def _url(value: Any, what: str, name: str) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ValueError(f"data-lake instance {name!r}: {what} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _opt_str(value: Any, what: str, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"data-lake instance {name!r}: {what} must be a string")
    return value


def normalise(
    raw: Mapping[str, Any], *, default_auth_type: str | None = None, warn: Callable[[str], None] | None = None
) -> Instance:
    """One instance from either format; a ValueError that names the entry and the key otherwise."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"a data-lake instance must be a dict, got {type(raw).__name__}")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValueError(
            f"data-lake instance name {name!r} must be 1-64 letters, digits, '_', '.' or '-' (starting alphanumeric)"
        )
    values: dict[str, Any] = {}
    for key, value in raw.items():
        field = _ALIASES.get(key)
        if field is None:
            if key not in _IGNORED and warn is not None:
                warn(f"data-lake instance {name!r}: unknown key {key!r} ignored")
            continue
        if field in values and values[field] != value:
            raise ValueError(f"data-lake instance {name!r}: {key!r} repeats another key with a different value")
        values[field] = value
    if "rucio_host" not in values:
        raise ValueError(f"data-lake instance {name!r}: rucio_host (or rucio_base_url) is required")
    host = _url(values["rucio_host"], "rucio_host", name)
    auth_host = _url(values["auth_host"], "auth_host", name) if values.get("auth_host") else host
    lifetime = values.get("rule_lifetime_days")
    if lifetime is not None and (isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0):
        raise ValueError(f"data-lake instance {name!r}: rule_lifetime_days must be a positive number")
    auth_type = values.get("default_auth_type") or default_auth_type
    if auth_type is not None and auth_type not in AUTH_TYPES:
        raise ValueError(f"data-lake instance {name!r}: default_auth_type must be one of {', '.join(AUTH_TYPES)}")
    auth = values.get("auth")
    if auth is not None and (not isinstance(auth, Mapping) or "auth_type" not in auth):
        raise ValueError(f"data-lake instance {name!r}: 'auth' must be a dict with an auth_type")
    # rucio-jupyterlab names the OIDC source with oidc_auth = env|file plus the matching key
    oidc_mode = raw.get("oidc_auth")
    token_env = _opt_str(values.get("oidc_token_env"), "oidc_env_name", name)
    token_file = _opt_str(values.get("oidc_token_file"), "oidc_file_name", name)
    if oidc_mode == "env":
        token_file = None
    elif oidc_mode == "file":
        token_env = None
    return Instance(
        name=name,
        display_name=_opt_str(values.get("display_name"), "display_name", name)
        or _opt_str(values.get("site_name"), "site_name", name)
        or name,
        rucio_host=host,
        auth_host=auth_host,
        vo=_opt_str(values.get("vo"), "vo", name) or "def",
        ca_cert=_opt_str(values.get("ca_cert"), "ca_cert", name),
        webui_url=_url(values["webui_url"], "rucio_webui_url", name) if values.get("webui_url") else None,
        site_name=_opt_str(values.get("site_name"), "site_name", name),
        destination_rse=_opt_str(values.get("destination_rse"), "destination_rse", name),
        rule_lifetime_days=float(lifetime) if lifetime is not None else None,
        oidc_token_env=token_env,
        oidc_token_file=token_file,
        default_auth_type=auth_type,
        shared_auth=dict(auth) if auth else None,
    )


def fetch_remote(url: str, timeout: float = 10.0) -> dict[str, Any]:
    """The JSON document a ``$url`` entry points at (rucio-jupyterlab's remote configuration)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"a data-lake instance's $url must be an http(s) URL, got {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the remote data-lake configuration {url}: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"the remote data-lake configuration {url} is not a JSON object")
    return data


def _with_remote(raw: Mapping[str, Any], fetch: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    if "$url" not in raw:
        return dict(raw)
    remote = fetch(str(raw["$url"]))
    for key in ("name", "display_name", "mode"):  # these must be local (as in rucio-jupyterlab)
        remote.pop(key, None)
    return {**remote, **raw}


class InstanceRegistry:
    """The configured instances, by name, and which one is the default."""

    def __init__(
        self,
        configured: Iterable[Mapping[str, Any]],
        default: str = "",
        *,
        rucio_config: Mapping[str, Any] | None = None,
        fetch: Callable[[str], dict[str, Any]] = fetch_remote,
        warn: Callable[[str], None] | None = None,
    ):
        self._instances: dict[str, Instance] = {}
        rucio_config = rucio_config or {}
        default_auth = rucio_config.get("default_auth_type") or None
        entries = [*configured, *(rucio_config.get("instances") or [])]
        for raw in entries:
            inst = normalise(_with_remote(raw, fetch), default_auth_type=default_auth, warn=warn)
            if inst.name in self._instances:
                raise ValueError(f"data-lake instance {inst.name!r} is configured twice")
            self._instances[inst.name] = inst
        default = default or str(rucio_config.get("default_instance") or "")
        if default and default not in self._instances:
            raise ValueError(f"the default data-lake instance {default!r} is not a configured instance")
        self.default = default or next(iter(self._instances), "")

    def get(self, name: str) -> Instance:
        try:
            return self._instances[name]
        except KeyError:
            known = ", ".join(sorted(self._instances)) or "none is configured"
            raise NotFound(f"No data-lake instance {name!r} (known: {known}).", details={"instance": name}) from None

    def all(self) -> list[Instance]:
        return list(self._instances.values())

    def __bool__(self) -> bool:
        return bool(self._instances)

    def __len__(self) -> int:
        return len(self._instances)
