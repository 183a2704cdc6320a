"""The settings one lake was created with (``<home>/lake.json``), kept across ``up``/``down``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from .passwords import write_private


@dataclass
class LakeSettings:
    port: int
    user: str
    db_url: str = ""  # "" = SQLite in <home>/rucio.db
    auth_extras: bool = False
    tls_port: int = 0  # with auth extras: HTTPS with client certificates (x509)
    idp_port: int = 0  # with auth extras: the local OIDC token issuer

    @property
    def uses_sqlite(self) -> bool:
        return not self.db_url

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}" if self.auth_extras else ""

    @property
    def issuer_url(self) -> str:
        return f"http://127.0.0.1:{self.idp_port}/" if self.auth_extras else ""

    def save(self, path: Path) -> None:
        write_private(path, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> LakeSettings | None:
        if not path.is_file():
            return None
        try:
            raw: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in raw.items() if k in known})
        except TypeError:
            return None
