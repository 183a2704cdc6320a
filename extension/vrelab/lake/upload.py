"""Uploading files of the user's folder to an RSE, as a plain (non-admin) account can.

Rucio's generic permission policy does not let a plain account flip a replica from COPYING to
AVAILABLE, so the default upload (register first, then mark available) fails for it: here every
file is registered only once its bytes are on the storage (register-after-upload).

Several files into one dataset with a lifetime: the dataset, and its rule with the lifetime, are
made once, before the first file; every file is then attached to it (rucio-clients' upload, asked
file by file with a lifetime, refuses the second file because the dataset already exists). An
existing dataset gets a rule of the account with that lifetime on the RSE when it has none.

A file whose DID already exists with the same checksum is not sent again (a resubmitted upload
skips what arrived); one with a different checksum is a conflict, named.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import Conflict, UpstreamError, VRELabError
from . import checksums
from .errors import rucio_errors
from .session import SECRETS, Session

log = logging.getLogger("vrelab.lake.upload")


class _Captured:
    """A logger for rucio-clients' UploadClient that keeps its warnings (it reports a failed
    upload only through its log, then raises a bare NoFilesUploaded)."""

    def __init__(self, logline: Callable[[str], None]):
        self.messages: list[str] = []
        self.logline = logline

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = str(msg)
        text = SECRETS.redact(text)
        if level >= logging.WARNING:
            self.messages.append(text)
        if level >= logging.INFO:
            self.logline(text)

    __call__ = log  # rucio-clients calls both logger(...) and logger.log(...)


def ensure_dataset(s: Session, scope: str, dataset: str, rse: str, lifetime: int | None) -> str:
    """Create the dataset with a rule (and lifetime) on ``rse``; for an existing one, make sure the
    account has a rule on ``rse`` with that lifetime. Returns what was done."""
    from rucio.common.exception import DataIdentifierAlreadyExists, DuplicateRule

    client = s.client
    rule = {"account": s.creds.account, "copies": 1, "rse_expression": rse, "grouping": "DATASET", "lifetime": lifetime}
    with rucio_errors(s.host, SECRETS.redact):
        try:
            client.add_dataset(scope=scope, name=dataset, rules=[rule])
            return "created"
        except DataIdentifierAlreadyExists:
            pass
        info = client.get_did(scope, dataset)
        if str(getattr(info.get("type"), "name", info.get("type"))).upper() != "DATASET":
            raise Conflict(f"{scope}:{dataset} exists and is not a dataset.")
        mine = [
            r
            for r in client.list_did_rules(scope, dataset)
            if r.get("account") == s.creds.account and r.get("rse_expression") == rse
        ]
        if mine:
            return "existing"
        try:
            client.add_replication_rule(
                [{"scope": scope, "name": dataset}], 1, rse, lifetime=lifetime, grouping="DATASET"
            )
        except DuplicateRule:
            pass
        return "existing, rule added"


def _attach(s: Session, scope: str, dataset: str, name: str) -> None:
    from rucio.common.exception import DataIdentifierAlreadyExists, Duplicate, FileAlreadyExists

    with rucio_errors(s.host, SECRETS.redact):
        try:
            s.client.attach_dids(scope, dataset, [{"scope": scope, "name": name}])
        except (FileAlreadyExists, DataIdentifierAlreadyExists, Duplicate):
            pass


def upload_files(
    s: Session,
    files: list[tuple[Path, str]],
    *,
    scope: str,
    rse: str,
    dataset: str | None,
    lifetime: int | None,
    progress: Callable[[float, float, str], None] = lambda *a: None,
    logline: Callable[[str], None] = lambda text: None,
    check_cancelled: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Upload ``files`` (local path, path shown to the user) one by one; returns the per-file states."""
    from rucio.client.uploadclient import UploadClient
    from rucio.common.exception import DataIdentifierNotFound

    total = sum(p.stat().st_size for p, _ in files) or 1
    done = 0
    progress(0, total, f"0/{len(files)} files")
    with rucio_errors(s.host, SECRETS.redact):
        settings = s.client.get_rse(rse)
    dataset_state = ensure_dataset(s, scope, dataset, rse, lifetime) if dataset else None
    if dataset_state:
        logline(f"dataset {scope}:{dataset}: {dataset_state}")
    captured = _Captured(logline)
    uploader = UploadClient(_client=s.client, logger=captured, tracing=False)  # type: ignore[arg-type]
    uploader.rses[rse] = settings  # never let it build a client of its own from a rucio.cfg
    results: list[dict[str, Any]] = []
    for i, (path, shown) in enumerate(files):
        check_cancelled()
        summer = checksums.of_file(path)
        name = path.name
        did = f"{scope}:{name}"
        state = "uploaded"
        with rucio_errors(s.host, SECRETS.redact):
            try:
                meta = s.client.get_metadata(scope, name)
            except DataIdentifierNotFound:
                meta = None
        if meta is not None:
            if checksums.mismatch(summer, {"bytes": meta.get("bytes"), "adler32": meta.get("adler32")}):
                raise Conflict(
                    f"{did} already exists in the lake with different content; rename {shown} or use another "
                    "scope (files in Rucio never change).",
                    details={"did": did},
                )
            state = "present"
            if dataset:
                _attach(s, scope, dataset, name)
            logline(f"{did}: already in the lake with the same checksum; not sent again")
        else:
            item: dict[str, Any] = {
                "path": str(path),
                "rse": rse,
                "did_scope": scope,
                "did_name": name,
                "register_after_upload": True,
            }
            if dataset:
                item |= {"dataset_scope": scope, "dataset_name": dataset}
            elif lifetime:
                item["lifetime"] = lifetime
            captured.messages.clear()
            try:
                with rucio_errors(s.host, SECRETS.redact):
                    uploader.upload([item])
            except VRELabError:
                raise
            except Exception as exc:  # NoFilesUploaded & co: the reason is in what it logged
                why = "; ".join(captured.messages[-3:]) or type(exc).__name__
                raise UpstreamError(f"Uploading {shown} to {rse} failed: {why}", details={"did": did}) from None
        done += summer.size
        results.append(
            {
                "path": shown,
                "did": did,
                "bytes": summer.size,
                "adler32": summer.adler32,
                "md5": summer.md5,
                "state": state,
                "ok": True,
            }
        )
        progress(done, total, f"{i + 1}/{len(files)} files · {name} {state}")
    return {
        "scope": scope,
        "rse": rse,
        "dataset": f"{scope}:{dataset}" if dataset else None,
        "dataset_state": dataset_state,
        "lifetime": lifetime,
        "files": results,
    }
