"""Workspaces: read them (upload, file, folder, HEPData archive), validate, store by content hash.

A stored entry is a folder ``<fit_dir>/workspaces/<id>/`` holding ``workspace.json``, optionally
``patchset.json``, and ``meta.json`` (name, source, digests, the inspection summary). The id is
the SHA-256 of the canonical JSON of workspace and patchset together, so storing the same
likelihood twice gives the same id and costs nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import BadRequest, NotFound
from .errors import InvalidWorkspace

__all__ = [
    "WorkspaceStore",
    "canonical_digest",
    "describe_schema_error",
    "parse_json",
    "read_archive",
    "validate_patchset",
    "validate_workspace",
]

_ID = re.compile(r"^[0-9a-f]{64}$")
MAX_ARCHIVE_MEMBER = 512 * 1024 * 1024
MAX_ARCHIVE_TOTAL = 1024 * 1024 * 1024


def canonical_digest(value: Any) -> str:
    """SHA-256 of the canonical JSON form (sorted keys, no spaces) of ``value``."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def parse_json(data: bytes | str, what: str) -> Any:
    """Parse JSON, or InvalidWorkspace naming the line and column where it breaks."""
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise InvalidWorkspace(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
            details={"line": exc.lineno, "column": exc.colno},
        ) from None
    except UnicodeDecodeError:
        raise InvalidWorkspace(f"{what} is not UTF-8 text.") from None


def describe_schema_error(exc: Any) -> str:
    """pyhf's InvalidSpecification in one sentence: where in the document, and what is wrong."""
    parent = getattr(exc, "parent", None)
    message = getattr(parent, "message", None) or str(exc).split("\n")[0]
    path = getattr(exc, "path", "") or ""
    context = getattr(parent, "context", None)
    if context:  # oneOf/anyOf: say what the closest alternative misses, not just "none matched"
        from jsonschema.exceptions import best_match

        best = best_match(context)
        if best is not None:
            message = f"{best.message} (or another alternative of the schema)"
    where = f"at {path}" if path else "at the top level"
    if len(message) > 300:
        message = message[:300] + "..."
    return f"{where}: {message}."


def _schema_error(exc: Any, what: str) -> InvalidWorkspace:
    return InvalidWorkspace(
        f"The {what} does not follow pyhf's schema {describe_schema_error(exc)}",
        details={"path": getattr(exc, "path", ""), "schema": str(getattr(exc, "schema", "") or "")},
    )


def validate_workspace(spec: Any) -> Any:
    """A ``pyhf.Workspace`` of ``spec``, or InvalidWorkspace saying what is wrong and where."""
    import pyhf

    if not isinstance(spec, dict):
        raise InvalidWorkspace("A workspace must be a JSON object with channels, observations and measurements.")
    try:
        return pyhf.Workspace(spec)
    except pyhf.exceptions.InvalidSpecification as exc:
        raise _schema_error(exc, "workspace") from None
    except (pyhf.exceptions.SchemaNotFound, pyhf.exceptions.InvalidWorkspaceOperation) as exc:
        raise InvalidWorkspace(f"The workspace is not valid: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidWorkspace(f"The workspace is not valid: {type(exc).__name__} {exc}.") from None


def validate_patchset(spec: Any) -> Any:
    """A ``pyhf.PatchSet`` of ``spec``, or InvalidWorkspace saying what is wrong and where."""
    import pyhf

    if not isinstance(spec, dict):
        raise InvalidWorkspace("A patchset must be a JSON object with metadata, patches and version.")
    try:
        return pyhf.PatchSet(spec)
    except pyhf.exceptions.InvalidSpecification as exc:
        raise _schema_error(exc, "patchset") from None
    except (pyhf.exceptions.InvalidPatchSet, pyhf.exceptions.SchemaNotFound) as exc:
        raise InvalidWorkspace(f"The patchset is not valid: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidWorkspace(f"The patchset is not valid: {type(exc).__name__} {exc}.") from None


# ------------------------------------------------------------------ HEPData-style folders and archives
_BKG = re.compile(r"(?i)^bkgonly\.json$")
_PATCH_FILE = re.compile(r"^patch\.(?P<name>.+)\.json$")
_NUMBER = re.compile(r"\d+(?:p\d+)?")


def _values_from_name(name: str) -> list[float]:
    return [float(m.replace("p", ".")) for m in _NUMBER.findall(name)]


def build_patchset(
    patches: dict[str, Any], background: dict[str, Any], *, source: str, labels: list[str] | None = None
) -> dict[str, Any]:
    """A pyhf patchset from loose ``patch.<name>.json`` files; values are the numbers in the names."""
    import pyhf

    values = {name: _values_from_name(name) for name in patches}
    counts = Counter(len(v) for v in values.values())
    size = counts.most_common(1)[0][0] if counts else 0
    odd = sorted(n for n, v in values.items() if len(v) != size)
    if odd:
        raise InvalidWorkspace(
            f"The patch names do not all carry {size} numbers (e.g. {odd[0]!r}); give a patchset.json instead.",
            details={"patches": odd[:20]},
        )
    if labels is None:
        labels = [f"x{i}" for i in range(size)]
    if len(labels) != size:
        raise BadRequest(f"'labels' must name {size} values (the numbers in the patch names).")
    return {
        "metadata": {
            "name": source,
            "description": f"Built by vrelab from {len(patches)} patch files of {source} (HEPData record unknown).",
            "digests": {"sha256": pyhf.utils.digest(background)},
            "labels": labels,
            "references": {"hepdata": "ins0000000"},  # the schema needs one; 0000000: unknown
        },
        "patches": [
            {"metadata": {"name": name, "values": values[name]}, "patch": patches[name]}
            for name in sorted(patches, key=lambda n: (values[n], n))
        ],
        "version": "1.0.0",
    }


def _pick_group(
    files: dict[str, bytes], source: str, region: str | None, labels: list[str] | None
) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
    """From {path: bytes} of a folder or archive: the background workspace and its patchset."""
    groups = sorted({str(PurePosixPath(p).parent) for p in files if _BKG.match(PurePosixPath(p).name)})
    if not groups:
        raise InvalidWorkspace(f"{source} holds no BkgOnly.json (the background-only workspace).")
    if region is not None:
        wanted = [g for g in groups if g == region or PurePosixPath(g).name == region]
        if not wanted:
            raise BadRequest(
                f"{source} has no region {region!r}; regions: {', '.join(groups)}.", details={"regions": groups}
            )
        group = wanted[0]
    elif len(groups) == 1:
        group = groups[0]
    else:
        raise BadRequest(
            f"{source} holds several likelihoods; choose one with 'region': {', '.join(groups)}.",
            details={"regions": groups},
        )
    inside = {p: b for p, b in files.items() if str(PurePosixPath(p).parent) == group}
    bkg_path = next(p for p in inside if _BKG.match(PurePosixPath(p).name))
    background = parse_json(inside[bkg_path], bkg_path)
    patchset_path = next((p for p in inside if PurePosixPath(p).name.lower() == "patchset.json"), None)
    name = PurePosixPath(source).name if group in (".", "") else f"{PurePosixPath(source).name}/{group}"
    if patchset_path is not None:
        return background, parse_json(inside[patchset_path], patchset_path), name
    loose = {m["name"]: parse_json(b, p) for p, b in inside.items() if (m := _PATCH_FILE.match(PurePosixPath(p).name))}
    if not loose:
        return background, None, name
    return background, build_patchset(loose, background, source=name, labels=labels), name


def read_archive(data: bytes, source: str) -> dict[str, bytes]:
    """The JSON files of a (compressed) tar archive, read in memory: {path inside: bytes}."""
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for member in tar:
                if not member.isfile() or not member.name.endswith(".json"):
                    continue
                if member.size > MAX_ARCHIVE_MEMBER or total + member.size > MAX_ARCHIVE_TOTAL:
                    raise InvalidWorkspace(f"{source}: {member.name} is too large to read.")
                fh = tar.extractfile(member)
                if fh is None:
                    continue
                total += member.size
                files[str(PurePosixPath(member.name.lstrip("/")))] = fh.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InvalidWorkspace(f"{source} is not a readable .tar.gz archive: {exc}.") from None
    return files


def load_source(
    path: Path, display: str, *, region: str | None = None, labels: list[str] | None = None
) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
    """Workspace, patchset (or None) and a name, from a JSON file, a folder or an archive."""
    if path.is_dir():
        # the folder itself and its subfolders (one per region), as HEPData lays them out
        found = [p for p in [*path.glob("*.json"), *path.glob("*/*.json")] if p.is_file()]
        groups = {p.parent for p in found if _BKG.match(p.name)}
        found = [p for p in found if p.parent in groups]  # read only the likelihoods' folders
        if len(found) > 20_000:
            raise BadRequest(f"{display!r} holds too many JSON files to be one likelihood; give its folder.")
        files: dict[str, bytes] = {}
        total = 0
        for p in sorted(found):
            size = p.stat().st_size
            if size > MAX_ARCHIVE_MEMBER or total + size > MAX_ARCHIVE_TOTAL:
                raise InvalidWorkspace(f"{display}: {p.name} is too large to read.")
            total += size
            files[p.relative_to(path).as_posix()] = p.read_bytes()
        return _pick_group(files, display, region, labels)
    if not path.is_file():
        raise NotFound(f"No such file or folder: {display!r}.", details={"path": display})
    data = path.read_bytes()
    return load_bytes(data, display, region=region, labels=labels)


def load_bytes(
    data: bytes, display: str, *, region: str | None = None, labels: list[str] | None = None
) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
    if data[:2] == b"\x1f\x8b" or display.endswith((".tar", ".tar.gz", ".tgz")):
        return _pick_group(read_archive(data, display), display, region, labels)
    spec = parse_json(data, display)
    name = PurePosixPath(display).stem
    if isinstance(spec, dict) and "patches" in spec and "channels" not in spec:
        raise BadRequest(f"{display} is a patchset; give the background-only workspace it patches.")
    return spec, None, name


# ------------------------------------------------------------------ the store
def _write(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class WorkspaceStore:
    """Validated workspaces (and their patchsets) stored by content hash under ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    def folder(self, workspace_id: str) -> Path:
        if not isinstance(workspace_id, str) or not _ID.match(workspace_id):
            raise NotFound(
                f"No workspace with id {workspace_id!r} (ids are 64 hexadecimal characters).",
                details={"workspace_id": workspace_id},
            )
        folder = self.root / workspace_id
        if not (folder / "meta.json").is_file():
            raise NotFound(f"No workspace with id {workspace_id!r}.", details={"workspace_id": workspace_id})
        return folder

    def add(self, spec: Any, patchset: Any | None, *, name: str, source: dict[str, Any]) -> dict[str, Any]:
        """Validate and store; return the entry's metadata (the same entry if already stored)."""
        from .summary import summarize

        ws = validate_workspace(spec)
        ps = validate_patchset(patchset) if patchset is not None else None
        try:
            workspace_id = canonical_digest({"workspace": spec, "patchset": patchset})
        except ValueError:
            raise InvalidWorkspace("The workspace or patchset holds NaN or Infinity, which JSON cannot.") from None
        folder = self.root / workspace_id
        if (folder / "meta.json").is_file():
            return self.meta(workspace_id)
        summary = summarize(ws, ps)
        patches = []
        if patchset is not None:
            patches = [
                {
                    "name": p["metadata"]["name"],
                    "values": p["metadata"]["values"],
                    "digest": canonical_digest(p["patch"]),
                }
                for p in patchset["patches"]
            ]
        meta = {
            "id": workspace_id,
            "name": name or "workspace",
            "source": source,
            "created": time.time(),
            "workspace_digest": canonical_digest(spec),
            "patchset_digest": canonical_digest(patchset) if patchset is not None else None,
            "summary": summary,
            "patches": patches,
        }
        tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=".new-"))
        try:
            _write(tmp / "workspace.json", spec)
            if patchset is not None:
                _write(tmp / "patchset.json", patchset)
            _write(tmp / "meta.json", meta)
            os.chmod(tmp, 0o700)
            try:
                os.rename(tmp, folder)
            except OSError:  # stored meanwhile by a concurrent request
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return meta

    def meta(self, workspace_id: str) -> dict[str, Any]:
        return json.loads((self.folder(workspace_id) / "meta.json").read_text())

    def workspace_path(self, workspace_id: str) -> Path:
        return self.folder(workspace_id) / "workspace.json"

    def patchset_path(self, workspace_id: str) -> Path | None:
        path = self.folder(workspace_id) / "patchset.json"
        return path if path.is_file() else None

    def load(self, workspace_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        spec = json.loads(self.workspace_path(workspace_id).read_text())
        ps_path = self.patchset_path(workspace_id)
        return spec, json.loads(ps_path.read_text()) if ps_path else None

    def list(self) -> list[dict[str, Any]]:
        out = []
        for folder in self.root.iterdir():
            if _ID.match(folder.name) and (folder / "meta.json").is_file():
                try:
                    out.append(json.loads((folder / "meta.json").read_text()))
                except (OSError, ValueError):
                    continue
        return sorted(out, key=lambda m: -m.get("created", 0))

    def delete(self, workspace_id: str) -> None:
        shutil.rmtree(self.folder(workspace_id))
