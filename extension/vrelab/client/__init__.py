"""The Python client of vrelab's REST API: ``from vrelab.client import Client``."""

from .api import Client
from .discovery import ServerInfo, candidates

__all__ = ["Client", "ServerInfo", "candidates"]
