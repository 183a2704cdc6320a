"""The embedded data lake: a real Rucio 41.5.1 server with local storage, run by vrelab.

    from vrelab.lakeserver import LakeServer
    info = LakeServer().up(progress=print)     # first start: venv, schema, RSEs, accounts, samples
    info.url, info.user_config                 # RUCIO_CONFIG=<info.user_config> rucio did list ...
    LakeServer().status(); LakeServer().down(); LakeServer().reset()

See ``manager.py`` for what lives where, ``layout.py`` for the lake's RSEs, scopes and samples.
"""

from __future__ import annotations

from .layout import OPEN_DATA_SCOPE, REPLICA_RSE, RSE_NAMES, SCRATCH_RSE, UPLOAD_RSE
from .manager import LakeInfo, LakeServer

__all__ = [
    "OPEN_DATA_SCOPE",
    "REPLICA_RSE",
    "RSE_NAMES",
    "SCRATCH_RSE",
    "UPLOAD_RSE",
    "LakeInfo",
    "LakeServer",
]
