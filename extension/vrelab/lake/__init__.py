"""The data-lake capability: Rucio instances, credentials, browsing and rules (no tornado here).

``LakeService`` is what the REST handlers (and later the transfer jobs) call; ``InstanceRegistry``
reads the configured instances, in vrelab's format or rucio-jupyterlab's.

In a notebook, ``lake.open("scope:name")`` and ``lake.paths(did)`` give local paths of a DID's
files (see :mod:`vrelab.lake.notebook`; loaded on first use, they speak to the server's API).
"""

from typing import Any

from .credentials import Credentials, CredentialStore
from .dids import DID, parse_did, parse_filters
from .instances import AUTH_TYPES, Instance, InstanceRegistry
from .service import LakeService
from .session import Session

__all__ = [
    "AUTH_TYPES",
    "open",
    "paths",
    "DID",
    "CredentialStore",
    "Credentials",
    "Instance",
    "InstanceRegistry",
    "LakeService",
    "Session",
    "parse_did",
    "parse_filters",
]


def __getattr__(name: str) -> Any:
    if name in ("open", "paths"):
        from . import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'vrelab.lake' has no attribute {name!r}")
