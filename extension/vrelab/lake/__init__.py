"""The data-lake capability: Rucio instances, credentials, browsing and rules (no tornado here).

``LakeService`` is what the REST handlers (and later the transfer jobs) call; ``InstanceRegistry``
reads the configured instances, in vrelab's format or rucio-jupyterlab's.
"""

from .credentials import Credentials, CredentialStore
from .dids import DID, parse_did, parse_filters
from .instances import AUTH_TYPES, Instance, InstanceRegistry
from .service import LakeService
from .session import Session

__all__ = [
    "AUTH_TYPES",
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
