"""The files a lake writes: the server's rucio.cfg and alembic.ini, the client configs of root
and the user, the jupyter_server_config snippet that points vrelab at the lake, and env.sh.

Files holding a password are written 0600. Values go through ``_cfg`` so that a ``%`` (e.g. in a
URL-encoded database password) survives Python's ConfigParser interpolation.
"""

from __future__ import annotations

import json
from pathlib import Path

from .database import sqlite_url
from .passwords import write_private
from .paths import LakePaths
from .settings import LakeSettings
from .venv import ServerVenv

METADATA_PLUGIN = "vrelab_didmeta.SQLiteJSONDidMeta"
OIDC_ISSUER_NAME = "vrelab-local"
OIDC_CLIENT_ID = "rucio"


def _cfg(value: object) -> str:
    return str(value).replace("%", "%%")


def _sections(sections: dict[str, dict[str, object]], header: str = "") -> str:
    out = [header] if header else []
    for name, options in sections.items():
        out.append(f"[{name}]")
        out.extend(f"{key} = {_cfg(value)}" for key, value in options.items())
        out.append("")
    return "\n".join(out)


def db_url(paths: LakePaths, settings: LakeSettings) -> str:
    return settings.db_url or sqlite_url(paths.sqlite_db)


def server_cfg(paths: LakePaths, settings: LakeSettings, venv: ServerVenv, root_password: str) -> str:
    sections: dict[str, dict[str, object]] = {
        "common": {
            "logdir": paths.log,
            "loglevel": "INFO",
            "mailtemplatedir": venv.path / "rucio" / "etc" / "mail_templates",
        },
        "database": {"default": db_url(paths, settings), "echo": 0},
        "bootstrap": {
            # create_root_account() hashes this itself; root logs in as 'root' / <secrets/root.password>
            "userpass_identity": "root",
            "userpass_pwd": root_password,
            "userpass_email": "root@localhost",
        },
        "alembic": {"cfg": paths.alembic_ini},
        "policy": {
            # serverside/vrelab_policy: the generic policy, plus owners deleting their own rules
            "package": "vrelab_policy",
            "permission": "generic",
            "schema": "generic",
            "lfn2pfn_algorithm_default": "hash",
            "support": "vrelab embedded lake",
            "support_rucio": "https://github.com/rucio/rucio/issues/",
        },
        "monitor": {"enable_metrics": "False"},
        # no FTS: the daemon loop's 'mock' transfertool copies file:// replicas itself
        "conveyor": {"scheme": "file", "transfertool": "mock"},
    }
    if settings.uses_sqlite:
        # Rucio's JSON metadata plugin refuses SQLite: vrelab's plugin (serverside/) replaces it
        sections["metadata"] = {"plugins": METADATA_PLUGIN}
    if settings.auth_extras:
        sections["oidc"] = {"idpsecrets": paths.etc / "idpsecrets.json", "admin_issuer": OIDC_ISSUER_NAME}
    header = "# written by `vrelab lake up`; the server and its daemons read it (RUCIO_CONFIG)"
    return _sections(sections, header)


def alembic_ini(paths: LakePaths, settings: LakeSettings, site_packages: Path) -> str:
    sections: dict[str, dict[str, object]] = {
        "alembic": {
            "script_location": site_packages / "rucio" / "db" / "sqla" / "migrate_repo",
            "sqlalchemy.url": db_url(paths, settings),
        },
        # alembic's env.py calls logging.config.fileConfig(): these sections must exist
        "loggers": {"keys": "root,sqlalchemy,alembic"},
        "handlers": {"keys": "console"},
        "formatters": {"keys": "generic"},
        "logger_root": {"level": "WARN", "handlers": "console", "qualname": ""},
        "logger_sqlalchemy": {"level": "WARN", "handlers": "", "qualname": "sqlalchemy.engine"},
        "logger_alembic": {"level": "WARN", "handlers": "", "qualname": "alembic"},
        "handler_console": {
            "class": "StreamHandler",
            "args": "(sys.stderr,)",
            "level": "NOTSET",
            "formatter": "generic",
        },
        "formatter_generic": {"format": "%(levelname)-5.5s [%(name)s] %(message)s"},
    }
    # written as %%(levelname)...: alembic and logging.fileConfig both read it with interpolation
    return _sections(sections)


def client_cfg(paths: LakePaths, settings: LakeSettings, account: str, password: str) -> str:
    sections: dict[str, dict[str, object]] = {
        "client": {
            "rucio_host": settings.url,
            "auth_host": settings.url,
            "auth_type": "userpass",
            "username": account,
            "password": password,
            "account": account,
            "request_retries": 3,
            # No auth_token_file_path: one file for every account of a config would hand root's
            # token to the user (and back) in a process using both. Rucio's default cache is per
            # account under $TMPDIR; a token of another (or a reset) lake gets a 401 and the
            # client logs in again by itself.
        }
    }
    header = f"# RUCIO_CONFIG for account {account!r} of the embedded lake at {settings.url}"
    return _sections(sections, header)


def x509_client_cfg(paths: LakePaths, settings: LakeSettings, account: str) -> str:
    sections: dict[str, dict[str, object]] = {
        "client": {
            "rucio_host": settings.tls_url,
            "auth_host": settings.tls_url,
            "auth_type": "x509",
            "client_cert": paths.certs / f"{account}.pem",
            "client_key": paths.certs / f"{account}.key",
            "ca_cert": paths.certs / "ca.pem",
            "account": account,
            "request_retries": 3,
        }
    }
    return _sections(sections, f"# x509 (client certificate over HTTPS) config for {account!r}")


def oidc_client_cfg(paths: LakePaths, settings: LakeSettings, account: str) -> str:
    sections: dict[str, dict[str, object]] = {
        "client": {
            "rucio_host": settings.url,
            "auth_host": settings.url,
            "auth_type": "oidc",
            "account": account,
            "request_retries": 3,
        }
    }
    header = (
        f"# OIDC config for {account!r}: the client takes the JWT from $BEARER_TOKEN or $BEARER_TOKEN_FILE;\n"
        f"# mint one with `vrelab lake token --home {paths.home}`"
    )
    return _sections(sections, header)


def jupyter_config(settings: LakeSettings, user: str, password_file: Path) -> dict[str, object]:
    # the password by file (0600), not inline: jupyter_server logs its whole config at DEBUG level
    return {
        "VRELab": {
            "lake_instances": [
                {
                    "name": "embedded",
                    "display_name": "Embedded data lake",
                    "rucio_host": settings.url,
                    "auth_host": settings.url,
                    "vo": "def",
                    "auth": {
                        "auth_type": "userpass",
                        "account": user,
                        "username": user,
                        "password_file": str(password_file),
                    },
                }
            ],
            "default_lake_instance": "embedded",
        }
    }


def env_sh(paths: LakePaths, venv: ServerVenv, user: str) -> str:
    return "\n".join(
        [
            "# source this file to use the embedded lake from a shell as the user account",
            f"export RUCIO_CONFIG={paths.client_cfg(user)}",
            f"export PATH={venv.path / 'bin'}:$PATH",
            "",
        ]
    )


def write_all(
    paths: LakePaths,
    settings: LakeSettings,
    venv: ServerVenv,
    site_packages: Path,
    root_password: str,
    user_password: str,
) -> None:
    """(Re)write every config file: cheap, and keeps them in step with the settings (e.g. a new port)."""
    for directory in (paths.etc, paths.log, paths.run, paths.state, paths.tmp, paths.rses):
        directory.mkdir(parents=True, exist_ok=True)
    write_private(paths.server_cfg, server_cfg(paths, settings, venv, root_password))
    write_private(paths.alembic_ini, alembic_ini(paths, settings, site_packages))
    write_private(paths.client_cfg("root"), client_cfg(paths, settings, "root", root_password))
    write_private(paths.client_cfg(settings.user), client_cfg(paths, settings, settings.user, user_password))
    if settings.auth_extras:
        user = settings.user
        write_private(paths.client_cfg(f"{user}-x509"), x509_client_cfg(paths, settings, user))
        write_private(paths.client_cfg(f"{user}-oidc"), oidc_client_cfg(paths, settings, user))
        idp = {
            OIDC_ISSUER_NAME: {
                "issuer": settings.issuer_url,
                "client_id": OIDC_CLIENT_ID,
                "client_secret": "unused-locally",
                "redirect_uris": [f"{settings.url}/auth/oidc_token", f"{settings.url}/auth/oidc_code"],
                "SCIM": {"client_id": "rucio-admin", "client_secret": "unused-locally"},
            }
        }
        write_private(paths.etc / "idpsecrets.json", json.dumps(idp, indent=2) + "\n")
    snippet = jupyter_config(settings, settings.user, paths.password_file(settings.user))
    write_private(paths.jupyter_config, json.dumps(snippet, indent=2) + "\n")
    paths.env_sh.write_text(env_sh(paths, venv, settings.user))
