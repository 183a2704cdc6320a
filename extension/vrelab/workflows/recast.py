"""RECAST: run a preserved analysis workflow on a new signal, patch it into the likelihood, test it.

One job (kind ``workflow.recast``) does it all: the workflow runs like any other; its output file
of yields — JSON ``{channel: [yields]}`` or ``{channel: {"data": [...], "errors": [...]}}``, or a
ROOT file with one histogram per channel — becomes a JSON patch of the stored background-only
workspace (the signal sample added to, or replaced in, each channel, scaled by the measurement's
POI); the fit service stores the patched workspace and runs its hypothesis test
(:func:`vrelab.fit.jobs.hypotest`). The answer ends with "excluded / not excluded at 95% CL" and
the CLs values.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, NotFound, RecastError, VRELabError
from ..jobs import JobContext
from .runs import RunFolder
from .spec import WorkflowSpec

if TYPE_CHECKING:
    from .service import WorkflowService

__all__ = ["build_patch", "conclude_recast", "read_yields", "validate_recast"]

_FIT_OPTIONS = ("measurement", "test_stat", "calctype", "ntoys", "backend", "optimizer", "fixed_params")


def validate_recast(fit: Any, raw: Any, spec: WorkflowSpec) -> dict[str, Any]:
    """Check the RECAST part of a request: workspace, sample, yields file, channels, test options."""
    if fit is None:
        raise BadRequest("RECAST needs the fit service, which is not available on this server.")
    if not isinstance(raw, dict):
        raise BadRequest("Give 'recast': {workspace_id, yields, sample?, channels?, poi_value?, level?}.")
    known = {"workspace_id", "yields", "sample", "channels", "poi_value", "level", *_FIT_OPTIONS}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise BadRequest(f"Unknown RECAST field(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
    wid = raw.get("workspace_id")
    if not isinstance(wid, str):
        raise BadRequest("Give 'workspace_id': the stored background-only workspace (POST fit/workspaces).")
    meta = fit.store.meta(wid)
    channels_ws = [c["name"] if isinstance(c, dict) else str(c) for c in meta["summary"]["channels"]]
    yields = raw.get("yields")
    if yields is None:
        candidates = [p for p in spec.output_files if p.endswith((".json", ".root"))]
        if len(candidates) != 1:
            raise BadRequest(
                "Say which output holds the signal yields: 'yields' (a .json or .root output of the workflow)."
            )
        yields = candidates[0]
    if (
        not isinstance(yields, str)
        or not yields.endswith((".json", ".root"))
        or yields.startswith("/")
        or ".." in yields
    ):
        raise BadRequest("'yields' must be the relative path of a .json or .root output of the workflow.")
    sample = raw.get("sample", "signal")
    if not isinstance(sample, str) or not sample.strip() or len(sample) > 200:
        raise BadRequest("'sample' must be the name of the signal sample to add or replace.")
    channels = raw.get("channels")
    if channels is not None:
        if isinstance(channels, list) and all(isinstance(c, str) for c in channels):
            channels = {c: c for c in channels}
        if not isinstance(channels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in channels.items()
        ):
            raise BadRequest("'channels' must list the channels to replace, or map {name in the yields: channel}.")
        missing = sorted(set(channels.values()) - set(channels_ws))
        if missing:
            raise NotFound(
                f"The workspace has no channel(s) {', '.join(missing)}. Its channels: {', '.join(channels_ws)}.",
                details={"missing": missing},
            )
    level = raw.get("level", 0.05)
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise BadRequest("'level' must be between 0 and 1 (0.05 for 95% CL).")
    poi_value = raw.get("poi_value", 1.0)
    if isinstance(poi_value, bool) or not isinstance(poi_value, int | float) or not math.isfinite(poi_value):
        raise BadRequest("'poi_value' must be a number (the signal strength tested, 1 by default).")
    options = {k: raw[k] for k in _FIT_OPTIONS if raw.get(k) is not None}
    # the fit service checks the test options now, so a bad one is refused before anything runs
    fit.validate_job("fit.hypotest", {"workspace_id": wid, "poi_value": poi_value, **options})
    return {
        "workspace_id": wid,
        "yields": yields,
        "sample": sample.strip(),
        "channels": channels,
        "poi_value": float(poi_value),
        "level": float(level),
        **options,
    }


# ----------------------------------------------------------------------------------------- yields
def _as_yields(name: str, value: Any) -> tuple[list[float], list[float] | None]:
    errors = None
    if isinstance(value, dict):
        errors = value.get("errors", value.get("uncertainties"))
        value = value.get("data", value.get("yields"))
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    ):
        raise RecastError(f"The yields of channel {name!r} must be a non-empty list of finite numbers.")
    if errors is not None and (
        not isinstance(errors, list)
        or len(errors) != len(value)
        or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0 for v in errors
        )
    ):
        raise RecastError(f"The errors of channel {name!r} must be as many non-negative numbers as its yields.")
    return [float(v) for v in value], [float(v) for v in errors] if errors is not None else None


def read_yields(path: Path) -> dict[str, tuple[list[float], list[float] | None]]:
    """``{channel: (yields per bin, uncertainties or None)}`` from a JSON or ROOT file."""
    if not path.is_file():
        raise RecastError(f"The workflow did not write its yields file {path.name!r}.")
    if path.suffix == ".root":
        import uproot

        out: dict[str, tuple[list[float], list[float] | None]] = {}
        try:
            with uproot.open(path) as f:
                for key, cls in f.classnames(recursive=True, cycle=False).items():
                    if not cls.startswith("TH1"):
                        continue
                    h = f[key]
                    values = [float(v) for v in h.values()]
                    variances = h.variances()
                    errors = [math.sqrt(max(float(v), 0.0)) for v in variances] if variances is not None else None
                    out[key.rsplit("/", 1)[-1]] = (values, errors)
        except (OSError, ValueError) as exc:
            raise RecastError(f"The yields file {path.name!r} is not a readable ROOT file: {exc}.") from None
        if not out:
            raise RecastError(f"The ROOT file {path.name!r} holds no 1D histogram (one per channel is expected).")
        return out
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecastError(f"The yields file {path.name!r} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict) or not data:
        raise RecastError(f"The yields file {path.name!r} must be an object {{channel: yields}}.")
    return {str(k): _as_yields(str(k), v) for k, v in data.items()}


def build_patch(
    workspace: dict[str, Any],
    yields: dict[str, tuple[list[float], list[float] | None]],
    sample: str,
    *,
    channels: dict[str, str] | None = None,
    measurement: str | None = None,
) -> list[dict[str, Any]]:
    """The JSON patch adding (or replacing) ``sample`` with these yields in each channel."""
    measurements = workspace.get("measurements") or []
    chosen = next((m for m in measurements if m.get("name") == measurement), None) if measurement else None
    chosen = chosen or (measurements[0] if measurements else None)
    poi = (chosen or {}).get("config", {}).get("poi")
    if not poi:
        raise RecastError("The workspace's measurement names no parameter of interest (config.poi).")
    index = {c["name"]: i for i, c in enumerate(workspace["channels"])}
    mapping = channels or {name: name for name in yields}
    ops: list[dict[str, Any]] = []
    for source, channel in mapping.items():
        if source not in yields:
            raise RecastError(
                f"The yields file has no entry {source!r}; it has: {', '.join(yields)}.", details={"missing": source}
            )
        if channel not in index:
            raise RecastError(
                f"The workspace has no channel {channel!r} (from the yields file); its channels: {', '.join(index)}."
            )
        i = index[channel]
        ch = workspace["channels"][i]
        values, errors = yields[source]
        n_bins = len(ch["samples"][0]["data"]) if ch["samples"] else len(values)
        if len(values) != n_bins:
            raise RecastError(
                f"Channel {channel!r} has {n_bins} bins but the yields for it have {len(values)}.",
                details={"channel": channel, "bins": n_bins, "given": len(values)},
            )
        existing = next((j for j, s in enumerate(ch["samples"]) if s["name"] == sample), None)
        if existing is not None:
            ops.append({"op": "replace", "path": f"/channels/{i}/samples/{existing}/data", "value": values})
            continue
        modifiers: list[dict[str, Any]] = [{"name": poi, "type": "normfactor", "data": None}]
        if errors is not None:
            stat = next(
                (m["name"] for s in ch["samples"] for m in s.get("modifiers", []) if m.get("type") == "staterror"),
                f"staterror_{channel}",
            )
            modifiers.append({"name": stat, "type": "staterror", "data": errors})
        ops.append(
            {
                "op": "add",
                "path": f"/channels/{i}/samples/-",
                "value": {"name": sample, "data": values, "modifiers": modifiers},
            }
        )
    return ops


# ----------------------------------------------------------------------------------------- the job
def conclude_recast(
    service: WorkflowService, params: dict[str, Any], result: dict[str, Any], ctx: JobContext
) -> dict[str, Any]:
    """After the workflow finished: patch, hypothesis test, conclusion (recorded in the run's record)."""
    fit = service.fit
    opts = params["recast"]
    folder = RunFolder(service.runs_dir, ctx.job_id)
    n_steps = len(params["spec"]["steps"])
    total = n_steps + 1

    def record(recast: dict[str, Any], *, failed: str | None = None) -> None:
        def change(rec: dict[str, Any]) -> None:
            rec["recast"] = recast
            if failed:
                rec["status"] = "failed"
                rec["message"] = failed

        folder.update(change)
        folder.append_workflow_log(f"RECAST: {failed or recast.get('conclusion', '')}")

    try:
        yields = read_yields(folder.workspace / opts["yields"])
        spec = fit.workspace_document(opts["workspace_id"])
        patch = build_patch(
            spec, yields, opts["sample"], channels=opts.get("channels"), measurement=opts.get("measurement")
        )
        ctx.progress(n_steps, total, "patching the likelihood")
        patched = fit.apply_patch(opts["workspace_id"], {"operations": patch})
        options = {k: opts[k] for k in _FIT_OPTIONS if opts.get(k) is not None}
        fit_params = fit.validate_job(
            "fit.hypotest", {"workspace_id": patched["id"], "poi_value": opts["poi_value"], **options}
        )

        def forward(what: str, payload: Any) -> None:
            if what == "log":
                ctx.log(str(payload).split(" ", 1)[-1])
            elif what == "progress":
                ctx.progress(n_steps + min(1.0, payload["done"] / (payload["total"] or 1)), total, "CLs fit")

        inner = JobContext(
            job_id=ctx.job_id, owner=ctx.owner, params=fit_params, report=forward, is_cancelled=lambda: ctx.cancelled
        )
        test = fit.hypotest(fit_params, inner)  # the fit service's own path: its store, cache and pool
    except VRELabError as exc:
        record({"workspace_id": opts["workspace_id"], "error": exc.message}, failed=f"RECAST: {exc.message}")
        raise
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        record({"workspace_id": opts["workspace_id"], "error": text}, failed=f"RECAST: {text}")
        raise
    level = opts["level"]
    cls_obs = test.get("CLs_obs")
    cl = round((1 - level) * 100, 2)
    cl_text = f"{cl:g}% CL"
    excluded = cls_obs is not None and cls_obs < level
    poi = patch[0]["value"]["modifiers"][0]["name"] if patch and patch[0]["op"] == "add" else "the POI"
    verdict = "excluded" if excluded else "not excluded"
    observed = f"{cls_obs:.4g}" if cls_obs is not None else "not a number"
    conclusion = (
        f"The signal {opts['sample']!r} ({poi} = {opts['poi_value']:g}) is {verdict} at {cl_text} "
        f"(CLs observed {observed})"
    )
    recast = {
        "workspace_id": opts["workspace_id"],
        "patched_workspace_id": patched["id"],
        "sample": opts["sample"],
        "channels": [spec["channels"][int(op["path"].split("/")[2])]["name"] for op in patch],
        "patch": patch,
        "poi_value": opts["poi_value"],
        "level": level,
        "CLs_obs": cls_obs,
        "CLs_exp": test.get("CLs_exp"),
        "excluded": excluded,
        "conclusion": conclusion,
    }
    record(recast)
    ctx.progress(total, total, conclusion)
    return {**result, "recast": recast}
