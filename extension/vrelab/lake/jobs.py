"""The data-lake job kinds: ``lake.download``, ``lake.upload``, ``lake.multiply``.

They run in worker threads of the server process, each kind bound to the live
:class:`~vrelab.lake.service.LakeService` that registered it, and so to the session of the stored
(or configured) identity of its instance. Their parameters are stored and shown by the API, so
they hold no credential: ``validate`` checks them (400 before anything is queued; 404 for a DID
the lake does not know) and fills in defaults.
"""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import BadRequest, Forbidden, NotFound, Unavailable
from ..jobs import JobContext, JobKind
from ..paths import relative_to_root, resolve_inside
from .dids import DID, NAME_RE, SCOPE_RE, parse_did, unaddressable
from .download import Downloader, failure, no_files, resolve, summary, targets
from .upload import upload_files

if TYPE_CHECKING:
    from .service import LakeService

MAX_DIDS = 1000
MAX_FILES = 1000
MAX_WORKERS = 16
MAX_COPIES = 100
MAX_LIFETIME = 36500 * 86400
_SCOPE = re.compile(f"^{SCOPE_RE}$")
_NAME = re.compile(f"^{NAME_RE}$")
_RSE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_TREE = re.compile(r"^[A-Za-z0-9_.\-/]{1,200}$")

KINDS = {
    "lake.download": "Download files, datasets or containers into a folder of your home: parallel, "
    "checksum-verified, resumable.",
    "lake.upload": "Upload files of your home to an RSE (optionally into a dataset, with a lifetime).",
    "lake.multiply": "Merge a dataset's ROOT files (like hadd), make N copies, upload them into a new "
    "dataset with a lifetime and replicate it to a second RSE.",
}


def job_kinds(service: LakeService) -> list[JobKind]:
    runs = {"lake.download": download, "lake.upload": upload, "lake.multiply": multiply}
    validators = {
        "lake.download": validate_download,
        "lake.upload": validate_upload,
        "lake.multiply": validate_multiply,
    }
    return [
        JobKind(
            name=name,
            run=functools.partial(runs[name], service),
            process=False,
            description=text,
            validate=functools.partial(validators[name], service),
            title=_title,
        )
        for name, text in KINDS.items()
    ]


def _title(params: dict[str, Any]) -> str:
    if "dids" in params:
        dids = params["dids"]
        more = f" +{len(dids) - 1}" if len(dids) > 1 else ""
        return f"download {dids[0]}{more} → {params.get('dest')}"
    if "files" in params:
        target = f"{params['scope']}:{params['dataset']}" if params.get("dataset") else params.get("scope")
        return f"upload {len(params['files'])} file(s) → {target} on {params.get('rse')}"
    return f"multiply {params.get('dataset')} ×{params.get('copies')}"


# ---------------------------------------------------------------------- parameter checks
def _known(params: dict[str, Any], allowed: set[str], kind: str) -> None:
    unknown = sorted(set(params) - allowed - {"_lake"})
    if unknown:
        raise BadRequest(
            f"Unknown parameter(s) for {kind}: {', '.join(map(str, unknown))}. Known: {', '.join(sorted(allowed))}.",
            details={"unknown": unknown},
        )


def _instance(service: LakeService, params: dict[str, Any]) -> str:
    name = params.get("instance") or service.instances.default
    if not name:
        raise BadRequest("This vrelab server has no data-lake instance configured.", details={"field": "instance"})
    if not isinstance(name, str):
        raise BadRequest("'instance' must be the name of a data-lake instance (GET lake/instances).")
    try:
        return service.instances.get(name).name
    except NotFound as exc:  # a job's parameters are its request body: 400, as for any bad field
        raise BadRequest(exc.message, details={**exc.details, "field": "instance"}) from None


def _int(params: dict[str, Any], key: str, default: int | None, low: int, high: int) -> int | None:
    value = params.get(key, default)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"'{key}' must be an integer from {low} to {high}.", details={"field": key})
    return value


def _text(
    params: dict[str, Any], key: str, pattern: re.Pattern[str], what: str, *, required: bool = False
) -> str | None:
    value = params.get(key)
    if value is None or value == "":
        if required:
            raise BadRequest(f"'{key}' is required: {what}.", details={"field": key})
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise BadRequest(f"'{key}' must be {what}; got {value!r}.", details={"field": key})
    return value


def _inside(root: Path, path: Any, key: str, *, must_exist: bool = False) -> Path:
    """A user path inside the root; escapes are bad parameters (400) for a job."""
    if not isinstance(path, str) or not path.strip():
        raise BadRequest(f"'{key}' must be a path relative to your home folder.", details={"field": key})
    try:
        return resolve_inside(root, path, must_exist=must_exist)
    except (Forbidden, NotFound) as exc:
        raise BadRequest(exc.message, details={**exc.details, "field": key}) from None


def _dids(value: Any) -> list[DID]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or len(value) > MAX_DIDS:
        raise BadRequest(f"'dids' must be a list of 1 to {MAX_DIDS} data identifiers (scope:name).")
    dids = list(dict.fromkeys(parse_did(v) for v in value))
    for did in dids:
        if unaddressable(did):
            raise BadRequest(f"{did} cannot be named in Rucio ('.' and '..' are not names).")
    return dids


def _lifetime(params: dict[str, Any], default: int | None = None) -> int | None:
    return _int(params, "lifetime", default, 1, MAX_LIFETIME)


def validate_download(service: LakeService, params: dict[str, Any]) -> dict[str, Any]:
    _known(params, {"instance", "dids", "dest", "rse", "workers", "prefer_local"}, "lake.download")
    instance = _instance(service, params)
    dids = _dids(params.get("dids"))
    dest = params.get("dest") or f"data/{dids[0].scope}"
    target = _inside(service.root_dir, dest, "dest")
    if target.exists() and not target.is_dir():
        raise BadRequest(f"'dest' {dest!r} is a file, not a folder.", details={"field": "dest"})
    prefer_local = params.get("prefer_local", True)
    if not isinstance(prefer_local, bool):
        raise BadRequest("'prefer_local' must be true or false.")
    service.require_dids(instance, dids)  # an unknown DID is a 404 now, not a failed job later
    return {
        "instance": instance,
        "dids": [str(d) for d in dids],
        "dest": relative_to_root(service.root_dir, target) if target != service.root_dir.resolve() else ".",
        "rse": _text(params, "rse", _RSE, "an RSE name such as LAPP-DISK"),
        "workers": _int(params, "workers", 4, 1, MAX_WORKERS),
        "prefer_local": prefer_local,
    }


def validate_upload(service: LakeService, params: dict[str, Any]) -> dict[str, Any]:
    _known(params, {"instance", "files", "scope", "rse", "dataset", "lifetime"}, "lake.upload")
    instance = _instance(service, params)
    files = params.get("files")
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not files or len(files) > MAX_FILES:
        raise BadRequest(f"'files' must be a list of 1 to {MAX_FILES} paths in your home folder.")
    shown: list[str] = []
    names: set[str] = set()
    for item in files:
        path = _inside(service.root_dir, item, "files", must_exist=True)
        if not path.is_file():
            raise BadRequest(f"{item!r} is not a file.", details={"field": "files"})
        if not _NAME.fullmatch(path.name):
            raise BadRequest(f"{path.name!r} cannot be a Rucio file name (letters, digits, '_', '.', '-', '+').")
        if path.name in names:
            raise BadRequest(f"Two files are named {path.name!r}: a scope holds one file of each name.")
        names.add(path.name)
        shown.append(relative_to_root(service.root_dir, path))
    scope = _text(params, "scope", _SCOPE, "a scope such as user.jdoe", required=True)
    rse = _text(params, "rse", _RSE, "an RSE name such as LAPP-SCRATCHDISK", required=True)
    dataset = params.get("dataset")
    if dataset:
        if isinstance(dataset, str) and ":" in dataset:
            did = parse_did(dataset)
            if did.scope != scope:
                raise BadRequest(f"The dataset must be in the files' scope {scope!r}.")
            dataset = did.name
        dataset = _text({"dataset": dataset}, "dataset", _NAME, "a dataset name")
    return {
        "instance": instance,
        "files": shown,
        "scope": scope,
        "rse": rse,
        "dataset": dataset or None,
        "lifetime": _lifetime(params),
    }


def validate_multiply(service: LakeService, params: dict[str, Any]) -> dict[str, Any]:
    allowed = {"instance", "dataset", "copies", "scope", "name", "rse", "replicate_to", "lifetime", "tree"}
    _known(params, allowed, "lake.multiply")
    instance = _instance(service, params)
    source = parse_did(params.get("dataset"), what="dataset")
    rse = _text(params, "rse", _RSE, "the RSE to upload the copies to, e.g. LAPP-SCRATCHDISK", required=True)
    replicate_to = _text(params, "replicate_to", _RSE, "the second RSE, e.g. NAPOLI-DISK", required=True)
    if rse == replicate_to:
        raise BadRequest("'replicate_to' must be another RSE than 'rse'.")
    service.require_dids(instance, [source])
    return {
        "instance": instance,
        "dataset": str(source),
        "copies": _int(params, "copies", 2, 1, MAX_COPIES),
        "scope": _text(params, "scope", _SCOPE, "a scope such as user.jdoe"),
        "name": _text(params, "name", _NAME, "a dataset name"),
        "rse": rse,
        "replicate_to": replicate_to,
        "lifetime": _lifetime(params, 7 * 86400),
        "tree": _text(params, "tree", _TREE, "a tree name such as mini"),
    }


# ---------------------------------------------------------------------- jobs
def _resumable(exc: Unavailable, what: str) -> Unavailable:
    return Unavailable(f"{exc.message} {what}", details=exc.details)


def _download(
    service: LakeService,
    instance: str,
    dids: list[DID],
    dest: str,
    *,
    root: Path,
    progress: Any,
    logline: Any,
    cancelled: Any,
    rse: str | None = None,
    workers: int = 4,
    prefer_local: bool = True,
) -> dict[str, Any]:
    started = time.monotonic()
    progress(0, None, "asking the lake where the files are")
    settings: dict[str, Any] = {}
    try:
        with service.rucio(instance) as s:
            files = resolve(s.client, dids, rse)
            need = {src.rse for f in files for src in f.sources if src.local_path is None or not prefer_local}
            for name in sorted(need):
                settings[name] = s.client.get_rse(name)
            token = s.client.auth_token if str(s.client.auth_token or "").count(".") == 2 else None
    except Unavailable as exc:
        raise _resumable(
            exc, "Resubmit this job once it is back: files already downloaded and verified are kept."
        ) from None
    listed = time.monotonic() - started
    if not files:
        raise no_files(dids)
    places = targets(root, dest, files)
    logline(f"{len(files)} file(s), {sum(f.bytes or 0 for f in files)} bytes, into {dest}")

    def protocol(source: Any) -> Any:
        from rucio.rse import rsemanager

        scheme = urlsplit(source.pfn).scheme
        proto = rsemanager.create_protocol(settings[source.rse], "read", scheme=scheme, domain="wan", auth_token=token)
        proto.connect()
        return proto

    outcomes = Downloader(
        root,
        files,
        places,
        workers=workers,
        protocol=protocol,
        prefer_local=prefer_local,
        progress=progress,
        logline=logline,
        cancelled=cancelled,
    ).run()
    if any(o.state == "failed" for o in outcomes):
        raise failure(outcomes, dest)
    return summary(outcomes, dest, time.monotonic() - started) | {"listing_seconds": round(listed, 3)}


READ_LIMIT = 512 * 1024**2  # bytes: what read_file holds in memory at most


def read_file(service: LakeService, instance: str | None, did: str, *, limit: int = READ_LIMIT) -> bytes:
    """The content of the one file ``did`` names, fetched and verified as a download is, through a
    private folder of the server's that is removed afterwards."""
    name = _instance(service, {"instance": instance})
    parsed = parse_did(did)
    with service.rucio(name) as s:
        files = resolve(s.client, [parsed], None)
    if not files:
        raise no_files([parsed])
    if len(files) > 1:
        raise BadRequest(
            f"{did} holds {len(files)} files: give the DID of one file (e.g. the likelihood's .json or .tar.gz).",
            details={"did": did, "files": len(files)},
        )
    if (files[0].bytes or 0) > limit:
        raise BadRequest(f"{did} is {files[0].bytes} bytes: more than the {limit} bytes read at once here.")
    scratch = service.data_dir / "lake-reads"
    scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        root = Path(folder)
        result = _download(
            service, name, [parsed], ".", root=root, progress=lambda *a: None, logline=lambda text: None,
            cancelled=lambda: False, workers=1,
        )  # fmt: skip
        return (root / result["files"][0]["path"]).read_bytes()


def download(service: LakeService, params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    root = service.root_dir
    dest = params["dest"]
    _inside(root, dest, "dest")  # again: a symlink may have been planted since the submission
    result = _download(
        service,
        params["instance"],
        [parse_did(d) for d in params["dids"]],
        dest,
        root=root,
        progress=ctx.progress,
        logline=ctx.log,
        cancelled=lambda: ctx.cancelled,
        rse=params.get("rse"),
        workers=int(params.get("workers") or 4),
        prefer_local=params.get("prefer_local", True),
    )
    return {"instance": params["instance"], "dids": params["dids"], **result}


def upload(service: LakeService, params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    root = service.root_dir
    files = [(_inside(root, p, "files", must_exist=True), p) for p in params["files"]]
    try:
        with service.rucio(params["instance"]) as s:
            result = upload_files(
                s,
                files,
                scope=params["scope"],
                rse=params["rse"],
                dataset=params.get("dataset"),
                lifetime=params.get("lifetime"),
                progress=ctx.progress,
                logline=ctx.log,
                check_cancelled=ctx.check_cancelled,
            )
    except Unavailable as exc:
        raise _resumable(exc, "Resubmit this job once it is back: files already uploaded are not sent again.") from None
    return {"instance": params["instance"], **result}


class _Steps:
    """Progress of a job made of phases: each phase gets its share of 0..100."""

    def __init__(self, ctx: JobContext, shares: dict[str, float]):
        self.ctx = ctx
        self.shares = shares
        self.base = 0.0

    def phase(self, name: str) -> Any:
        start = self.base
        share = self.shares[name]
        self.base += share

        def report(done: float, total: float | None = None, message: str = "") -> None:
            fraction = (done / total) if total else 0.0
            self.ctx.progress(round(start + share * min(max(fraction, 0.0), 1.0), 2), 100, f"{name}: {message}")

        report(0, 1, "starting")
        return report


def multiply(service: LakeService, params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    from .merge import common_tree, merge

    instance = params["instance"]
    source = parse_did(params["dataset"])
    copies = int(params["copies"])
    lifetime = params.get("lifetime")
    steps = _Steps(ctx, {"download": 30, "merge": 25, "copies": 5, "upload": 30, "replicate": 10})
    work = Path(service.data_dir) / "lake-work" / ctx.job_id
    try:
        work.mkdir(parents=True, exist_ok=True)
        with service.rucio(instance) as s:
            scope = params.get("scope") or f"user.{s.creds.account}"
        name = params.get("name") or f"{source.name}.x{copies}.{time.strftime('%Y%m%d%H%M%S')}"
        # 1. the dataset's files, into the job's scratch folder
        report = steps.phase("download")

        fetched = _download(
            service, instance, [source], "in", root=work, progress=report, logline=ctx.log,
            cancelled=lambda: ctx.cancelled,
        )  # fmt: skip
        inputs = [Path(f["local_path"]) for f in fetched["files"]]
        roots = [p for p in inputs if p.suffix == ".root"]
        if not roots:
            raise BadRequest(f"{source} holds no .root file to merge.")
        ctx.check_cancelled()
        # 2. merge them (like hadd)
        report = steps.phase("merge")
        tree = common_tree(roots, params.get("tree"))
        done = 0

        def merged_step(text: str) -> None:
            nonlocal done
            done += 1
            report(done, len(roots) + 1, text)

        merged = merge(roots, work / "merged.root", tree, step=merged_step)
        ctx.log(f"merged {len(roots)} file(s): {merged['entries']} entries of tree {tree!r}")
        ctx.check_cancelled()
        # 3. N copies, named after the new dataset
        report = steps.phase("copies")
        out = work / "out"
        out.mkdir(exist_ok=True)
        names = []
        for i in range(1, copies + 1):
            target = out / f"{name}.{i:03d}.root"
            shutil.copyfile(work / "merged.root", target)
            names.append(target)
            report(i, copies, target.name)
        # 4. upload them into the new dataset, with the lifetime
        report = steps.phase("upload")
        with service.rucio(instance) as s:
            uploaded = upload_files(
                s,
                [(p, p.name) for p in names],
                scope=scope,
                rse=params["rse"],
                dataset=name,
                lifetime=lifetime,
                progress=report,
                logline=ctx.log,
                check_cancelled=ctx.check_cancelled,
            )
        # 5. replicate the new dataset to the second RSE
        report = steps.phase("replicate")
        body: dict[str, Any] = {"did": f"{scope}:{name}", "rse_expression": params["replicate_to"]}
        if lifetime:
            body["lifetime_days"] = lifetime / 86400
        body["comment"] = f"vrelab lake.multiply of {source}"
        rule = service.add_rule(instance, body)
        report(1, 1, f"rule {rule['id']} {rule['state']}")
        ctx.progress(100, 100, f"{copies} copies in {scope}:{name}, replicating to {params['replicate_to']}")
        return {
            "instance": instance,
            "source": str(source),
            "tree": tree,
            "inputs": [f["did"] for f in fetched["files"]],
            "merged": merged,
            "dataset": f"{scope}:{name}",
            "files": uploaded["files"],
            "lifetime": lifetime,
            "rule": rule,
        }
    except Unavailable as exc:
        raise _resumable(exc, "Resubmit this job once the lake is back.") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
