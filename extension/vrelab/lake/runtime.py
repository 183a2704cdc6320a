"""Where a transfer job finds the live :class:`~vrelab.lake.service.LakeService` of its server.

Job parameters are stored and shown by the API, so they never carry a credential: the job's
``validate`` adds only the service's data folder, and the job (a thread of the same server
process) looks the service up here to get its logged-in session.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Unavailable

if TYPE_CHECKING:
    from .service import LakeService

_LIVE: dict[str, LakeService] = {}
_LOCK = threading.Lock()


def _key(data_dir: str | Path) -> str:
    return str(Path(data_dir).expanduser().resolve())


def register(service: LakeService) -> None:
    with _LOCK:
        _LIVE[_key(service.data_dir)] = service


def forget(service: LakeService) -> None:
    with _LOCK:
        key = _key(service.data_dir)
        if _LIVE.get(key) is service:
            del _LIVE[key]


def lookup(data_dir: str | Path) -> LakeService:
    with _LOCK:
        service = _LIVE.get(_key(data_dir))
    if service is None:
        raise Unavailable(
            "The data-lake service that accepted this job is not running in this server any more; resubmit the job."
        )
    return service
