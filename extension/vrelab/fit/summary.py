"""What a workspace holds: channels and bins, samples, modifiers, parameters, POI, patches."""

from __future__ import annotations

from typing import Any

from .errors import InvalidWorkspace

__all__ = ["patch_table", "summarize"]


def _parameters(model: Any) -> list[dict[str, Any]]:
    kinds: dict[str, set[str]] = {}
    for name, kind in model.config.modifiers:
        kinds.setdefault(name, set()).add(kind)
    init = model.config.suggested_init()
    bounds = model.config.suggested_bounds()
    fixed = model.config.suggested_fixed()
    out = []
    for name in model.config.par_order:
        sl = model.config.par_slice(name)
        pset = model.config.param_set(name)
        out.append(
            {
                "name": name,
                "n": sl.stop - sl.start,
                "modifier_types": sorted(kinds.get(name, ())),
                "constraint": getattr(pset, "pdf_type", None),
                "init": [float(v) for v in init[sl]],
                "bounds": [[float(a), float(b)] for a, b in bounds[sl]],
                "fixed": [bool(v) for v in fixed[sl]],
            }
        )
    return out


def summarize(ws: Any, patchset: Any | None = None) -> dict[str, Any]:
    """The inspection summary of a validated ``pyhf.Workspace`` (and ``pyhf.PatchSet``)."""
    import pyhf

    observed = {o["name"]: o["data"] for o in ws["observations"]}
    channels = []
    for channel in ws["channels"]:
        data = observed.get(channel["name"], [])
        channels.append(
            {
                "name": channel["name"],
                "bins": len(channel["samples"][0]["data"]) if channel["samples"] else 0,
                "samples": [s["name"] for s in channel["samples"]],
                "observed": data,
                "observed_total": float(sum(data)),
            }
        )
    modifiers = sorted({(m["name"], m["type"]) for c in ws["channels"] for s in c["samples"] for m in s["modifiers"]})
    measurements = [
        {
            "name": m["name"],
            "poi": m["config"]["poi"],
            "fixed": [p["name"] for p in m["config"].get("parameters", []) if p.get("fixed")],
        }
        for m in ws["measurements"]
    ]
    poi_declared = True
    try:
        try:
            model = ws.model()
        except pyhf.exceptions.InvalidModel as exc:
            if "parameter of interest" not in str(exc):
                raise
            # a background-only workspace: its POI comes with the signal patches
            model = ws.model(poi_name=None)
            poi_declared = False
    except pyhf.exceptions.InvalidSpecification as exc:
        from .workspaces import describe_schema_error

        raise InvalidWorkspace(f"The workspace's model is not valid {describe_schema_error(exc)}") from None
    except Exception as exc:  # pyhf reports model-building problems with many exception types
        text = str(exc).strip() or type(exc).__name__
        raise InvalidWorkspace(f"The workspace does not make a model: {text}") from None
    summary: dict[str, Any] = {
        "channels": channels,
        "n_bins": sum(c["bins"] for c in channels),
        "samples": sorted({s for c in channels for s in c["samples"]}),
        "modifiers": [{"name": n, "type": t} for n, t in modifiers],
        "measurements": measurements,
        "poi": model.config.poi_name if poi_declared else ws.get_measurement()["config"]["poi"],
        "poi_in_workspace": poi_declared,
        "parameters": _parameters(model),
        "n_parameters": model.config.npars,
        "patchset": None,
    }
    if patchset is not None:
        try:
            patchset.verify(ws)
            verified = True
        except pyhf.exceptions.PatchSetVerificationError:
            verified = False
        meta = patchset.metadata
        summary["patchset"] = {
            "name": meta.get("name"),
            "description": meta.get("description"),
            "analysis_id": meta.get("analysis_id"),
            "references": meta.get("references", {}),
            "labels": list(patchset.labels),
            "n_patches": len(patchset.patches),
            "digest_matches": verified,
        }
    return summary


def patch_table(patchset: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per patch of a patchset document: its name and metadata values."""
    labels = patchset["metadata"]["labels"]
    return [
        {
            "name": p["metadata"]["name"],
            "values": p["metadata"]["values"],
            "by_label": dict(zip(labels, p["metadata"]["values"], strict=False)),
        }
        for p in patchset["patches"]
    ]
