"""Finding the vrelab server to talk to, without the user typing a URL or a token.

In order:
1. an explicit ``url`` (and ``token``), or ``VRELAB_URL`` / ``VRELAB_TOKEN`` set by the user;
2. inside a kernel started by a vrelab-enabled server: ``VRELAB_SERVER_URL`` /
   ``VRELAB_SERVER_TOKEN``, which the extension exports to its kernels;
3. under JupyterHub: the single-user server's ``JUPYTERHUB_SERVICE_URL`` (or
   ``JUPYTERHUB_SERVICE_PREFIX`` on localhost) with ``JUPYTERHUB_API_TOKEN``;
4. a running Jupyter server of this user, from ``jupyter_server.serverapp.list_running_servers()``.
"""

from __future__ import annotations

import os
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from ..errors import Unavailable


class ServerInfo(NamedTuple):
    url: str  # the server's base URL, ending in '/'
    token: str
    found_by: str


def _norm(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.replace("0.0.0.0", "127.0.0.1").replace("[::]", "[::1]")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme or "http", host, path, "", ""))


def _candidates(url: str | None, token: str | None) -> list[ServerInfo]:
    env = os.environ
    found: list[ServerInfo] = []
    if url:
        found.append(ServerInfo(_norm(url), token or env.get("VRELAB_TOKEN", ""), "explicit URL"))
        return found
    if env.get("VRELAB_URL"):
        found.append(ServerInfo(_norm(env["VRELAB_URL"]), token or env.get("VRELAB_TOKEN", ""), "VRELAB_URL"))
    if env.get("VRELAB_SERVER_URL"):
        found.append(
            ServerInfo(_norm(env["VRELAB_SERVER_URL"]), token or env.get("VRELAB_SERVER_TOKEN", ""), "kernel env")
        )
    hub_token = env.get("JUPYTERHUB_API_TOKEN")
    if hub_token:
        if env.get("JUPYTERHUB_SERVICE_URL"):
            found.append(ServerInfo(_norm(env["JUPYTERHUB_SERVICE_URL"]), token or hub_token, "JupyterHub"))
        elif env.get("JUPYTERHUB_SERVICE_PREFIX"):
            port = env.get("JUPYTER_PORT", "8888")
            prefix = env["JUPYTERHUB_SERVICE_PREFIX"]
            found.append(ServerInfo(_norm(f"http://127.0.0.1:{port}{prefix}"), token or hub_token, "JupyterHub"))
    try:
        from jupyter_server.serverapp import list_running_servers

        for info in list_running_servers():
            found.append(ServerInfo(_norm(info["url"]), token or info.get("token", ""), "running server"))
    except Exception:
        pass
    return found


def candidates(url: str | None = None, token: str | None = None) -> list[ServerInfo]:
    """Every server worth trying, best first."""
    return _candidates(url, token)


def no_server_error() -> Unavailable:
    return Unavailable(
        "No vrelab server found. Start one with `jupyter lab` (vrelab is enabled when installed), "
        "or give its address with --url / VRELAB_URL and its token with --token / VRELAB_TOKEN."
    )
