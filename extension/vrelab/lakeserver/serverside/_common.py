"""Helpers shared by the scripts that run inside the lake server's own virtual environment.

These scripts are started by vrelab with the server venv's python (they import Rucio, never
vrelab). They report a failure the user should see as ONE line ``VRELAB-ERROR: <message>`` on
stderr and exit code 3; vrelab turns that line into a ``LakeServerError``.
"""

from __future__ import annotations

import sys
from typing import NoReturn

ERROR_PREFIX = "VRELAB-ERROR: "
ERROR_EXIT = 3


def fail(message: str) -> NoReturn:
    """Report one clear line to vrelab and stop."""
    print(ERROR_PREFIX + " ".join(message.split()), file=sys.stderr, flush=True)
    sys.exit(ERROR_EXIT)


def short(exc: BaseException) -> str:
    """The first line of an exception, prefixed with its class name, without a traceback."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()
