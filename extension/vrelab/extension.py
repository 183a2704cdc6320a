"""Loading vrelab into a Jupyter server: services, routes, and the kernels' environment."""

from __future__ import annotations

import os
from typing import Any

from jupyter_server.utils import url_path_join

from .config import VRELab
from .handlers import API_PREFIX, ROUTES
from .services import Services


def load_jupyter_server_extension(serverapp: Any) -> None:
    config = VRELab(parent=serverapp)
    services = Services(config, root_dir=serverapp.root_dir)
    web_app = serverapp.web_app
    web_app.settings["vrelab"] = services
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(
        ".*$",
        [(url_path_join(base_url, API_PREFIX, route.regex()), route.handler) for route in ROUTES],
    )
    _export_to_kernels(serverapp)
    _close_at_shutdown(serverapp)
    # kernels run inside the root: the client turns their file paths into the root-relative ones the API takes
    os.environ["VRELAB_SERVER_ROOT"] = str(services.root_dir)
    if services.interrupted_at_start:
        serverapp.log.warning(
            "vrelab: %d job(s) were running when the server last stopped and are now 'interrupted'",
            len(services.interrupted_at_start),
        )
    serverapp.log.info(
        "vrelab %s loaded: %d routes under %s", _version(), len(ROUTES), url_path_join(base_url, API_PREFIX)
    )


def _version() -> str:
    from ._version import __version__

    return __version__


def _export_to_kernels(serverapp: Any) -> None:
    """Tell kernels started by this server where its API is, so ``vrelab.client`` finds it.

    Kernels inherit the server's environment. The token is the server's own (kernels already
    run with the user's full rights); nothing else is exported.
    """
    url = serverapp.connection_url if hasattr(serverapp, "connection_url") else serverapp.display_url
    os.environ["VRELAB_SERVER_URL"] = url.split("?")[0]
    token = getattr(getattr(serverapp, "identity_provider", None), "token", "") or ""
    if token:
        os.environ["VRELAB_SERVER_TOKEN"] = token


def unload_jupyter_server_extension(serverapp: Any) -> None:
    """Close every service, once: running jobs are recorded as interrupted, workers stopped.

    The module's ``_unload_jupyter_server_extension`` hook calls it where the server supports one;
    jupyter-server 2 has none for module extensions, so it also runs from the server's
    ``cleanup_extensions`` (see :func:`_close_at_shutdown`).
    """
    services = serverapp.web_app.settings.pop("vrelab", None)
    if services is not None:
        serverapp.log.info("vrelab: closing its services")
        services.close()


def _close_at_shutdown(serverapp: Any) -> None:
    previous = serverapp.cleanup_extensions

    async def cleanup_extensions() -> None:
        unload_jupyter_server_extension(serverapp)
        await previous()

    serverapp.cleanup_extensions = cleanup_extensions
