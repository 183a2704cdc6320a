"""Checksums as Rucio keeps them: adler32 (8 lower-case hex digits) and md5, computed while copying."""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path
from typing import Any

CHUNK = 1 << 20


class Checksummer:
    """Feed it bytes; it knows the adler32, md5 and size of what it saw."""

    def __init__(self) -> None:
        self._adler = 1
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def update(self, data: bytes) -> None:
        self._adler = zlib.adler32(data, self._adler)
        self._md5.update(data)
        self.size += len(data)

    @property
    def adler32(self) -> str:
        return f"{self._adler & 0xFFFFFFFF:08x}"

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()


def of_file(path: Path) -> Checksummer:
    summer = Checksummer()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            summer.update(chunk)
    return summer


def _same_adler(a: str, b: str) -> bool:
    return a.lower().lstrip("0") == b.lower().lstrip("0")


def mismatch(summer: Checksummer, expected: dict[str, Any]) -> str | None:
    """Why the data does not match what Rucio expects (size, adler32, md5), or None when it does."""
    size = expected.get("bytes")
    if size is not None and summer.size != size:
        return f"size {summer.size} instead of {size}"
    adler = expected.get("adler32")
    if adler and not _same_adler(summer.adler32, str(adler)):
        return f"adler32 {summer.adler32} instead of {adler}"
    md5 = expected.get("md5")
    if md5 and summer.md5 != str(md5).lower():
        return f"md5 {summer.md5} instead of {md5}"
    return None


def verified_with(expected: dict[str, Any]) -> str:
    """What a match proves: the strongest checksum Rucio gave, else only the size."""
    return "adler32" if expected.get("adler32") else "md5" if expected.get("md5") else "size"
