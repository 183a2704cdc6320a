"""A HistFactory workspace turned into flat arrays: the engine's view of one model.

:func:`build` walks the channels, samples and modifiers of a workspace (with a patch applied)
and returns a :class:`Layout`: the *structure* (which parameter each modifier uses, on which
sample row, with which interpolation) as integer arrays, and the *yields* (nominal rates,
variations, uncertainties, initial values, bounds, auxiliary data) as float arrays.

Parameters are numbered in order of first appearance, not by name, so the patches of a patchset
that add a signal sample with the same modifiers get identical structures even though the
signal's name (and the names of its per-sample modifiers) differ from patch to patch: their
yields stack into one batch. Names only label each patch's own parameters.

:class:`Background` parses the background workspace once and applies the usual patch
operations (add or remove a sample, remove a channel) by parsing only what the patch adds.
Anything the engine does not handle raises :class:`Unsupported`, whose message says why; the
caller then runs pyhf instead.
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

__all__ = ["Background", "Dims", "Layout", "Unsupported", "build", "dims_of", "padded"]

# interpolation codes the engine implements (pyhf's defaults: normsys code4, histosys code4p)
NORMSYS_CODES = {"code1": 1, "code4": 2}
HISTOSYS_CODES = {"code0": 0, "code4p": 1}
NO_CONSTRAINT, GAUSSIAN, POISSON = 0, 1, 2
_ELEMENT = re.compile(r"^(?P<name>.+)\[(?P<index>\d+)\]$")


class Unsupported(Exception):
    """The engine cannot compute this model; pyhf can (the message says why not)."""


@dataclass
class _Param:
    name: str
    kind: str  # normfactor, lumi, alpha (normsys/histosys), shapesys, staterror, shapefactor
    size: int
    start: int
    channel: str | None = None  # per-bin kinds: their channel
    # per-bin accumulators (staterror: sum of nominal and of squared uncertainties)
    nominal: Any = None
    variance: Any = None
    shapesys: tuple[Any, Any] | None = None


@dataclass
class Layout:
    """One model as arrays. ``key`` identifies the structure: equal keys batch together."""

    labels: list[str]
    poi_index: int
    poi_name: str
    channels: list[tuple[str, int]]
    samples: list[tuple[str, str]]  # (channel, sample) per row
    # structure (integers; equal across patches of one structure)
    row_apps: np.ndarray  # [R, K] index into the scalar factors (A = the constant 1)
    app_param: np.ndarray  # [A]
    app_kind: np.ndarray  # [A] 0 direct, 1 normsys code1, 2 normsys code4
    bin_params: np.ndarray  # [R, B, K2] index into parameters (P = the constant 1)
    hs_param: np.ndarray  # [H]
    hs_row: np.ndarray  # [H]
    hs_kind: np.ndarray  # [H] 0 code0, 1 code4p
    ctype: np.ndarray  # [P] 0 none, 1 gaussian, 2 poisson
    # yields (floats; these differ between patches)
    nominal: np.ndarray  # [R, B]
    app_hi: np.ndarray  # [A]
    app_lo: np.ndarray  # [A]
    hs_up: np.ndarray  # [H, B] hi - nominal
    hs_dn: np.ndarray  # [H, B] nominal - lo
    sigma: np.ndarray  # [P] gaussian widths (1 elsewhere)
    tau: np.ndarray  # [P] poisson factors (1 elsewhere)
    aux: np.ndarray  # [P] auxiliary data (gaussian centre, poisson count; 0 elsewhere)
    init: np.ndarray  # [P]
    lower: np.ndarray  # [P]
    upper: np.ndarray  # [P]
    fixed: np.ndarray  # [P] bool
    observed: np.ndarray  # [B]
    key: str = field(default="")

    @property
    def npars(self) -> int:
        return len(self.labels)

    def structure_arrays(self) -> tuple[np.ndarray, ...]:
        return (
            self.row_apps,
            self.app_param,
            self.app_kind,
            self.bin_params,
            self.hs_param,
            self.hs_row,
            self.hs_kind,
            self.ctype,
        )

    def yield_arrays(self) -> tuple[np.ndarray, ...]:
        return (self.nominal, self.app_hi, self.app_lo, self.hs_up, self.hs_dn, self.sigma, self.tau)


def _measurement(spec: Mapping[str, Any], name: str | None) -> dict[str, Any]:
    measurements = spec.get("measurements") or []
    if not measurements:
        raise Unsupported("the workspace has no measurement")
    if name is None:
        return measurements[0]
    for m in measurements:
        if m.get("name") == name:
            return m
    raise Unsupported(f"no measurement named {name!r}")


def _floats(values: Any, n: int, what: str) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise Unsupported(f"{what} is not a list of numbers") from None
    if out.shape != (n,):
        raise Unsupported(f"{what} has {out.size} values where the sample has {n} bins")
    return out


@dataclass
class _Sample:
    """One sample of one channel, parsed (its modifiers as tuples); reusable across patches."""

    name: str
    data: np.ndarray
    modifiers: list[tuple[str, str, Any]]  # (type, name, parsed data)


def _parse_sample(sample: Mapping[str, Any], nbins: int) -> _Sample:
    data = _floats(sample.get("data"), nbins, f"sample {sample.get('name')!r}")
    mods: list[tuple[str, str, Any]] = []
    for mod in sample.get("modifiers") or []:
        kind, name, mdata = mod.get("type"), mod.get("name"), mod.get("data")
        if not isinstance(name, str):
            raise Unsupported("a modifier without a name")
        if kind in ("normfactor", "lumi", "shapefactor"):
            parsed: Any = None
        elif kind == "normsys":
            try:
                parsed = (float(mdata["hi"]), float(mdata["lo"]))
            except (TypeError, KeyError, ValueError):
                raise Unsupported(f"normsys {name!r} has no numeric hi/lo") from None
        elif kind == "histosys":
            try:
                parsed = (_floats(mdata["hi_data"], nbins, name), _floats(mdata["lo_data"], nbins, name))
            except (TypeError, KeyError):
                raise Unsupported(f"histosys {name!r} has no hi_data/lo_data") from None
        elif kind in ("shapesys", "staterror"):
            parsed = _floats(mdata, nbins, f"{kind} {name!r}")
        else:
            raise Unsupported(f"modifier type {kind!r} is not implemented by the engine")
        mods.append((kind, name, parsed))
    return _Sample(str(sample.get("name")), data, mods)


_KIND = {
    "normfactor": "normfactor",
    "lumi": "lumi",
    "normsys": "alpha",
    "histosys": "alpha",
    "shapesys": "shapesys",
    "staterror": "staterror",
    "shapefactor": "shapefactor",
}


def build(
    channels: Sequence[tuple[str, Sequence[_Sample]]],
    observations: Mapping[str, Any],
    measurement: Mapping[str, Any],
    *,
    normsys_code: str = "code4",
    histosys_code: str = "code4p",
    fixed_params: Sequence[tuple[str, float]] = (),
    fix_shapesys_tau_above: float | None = None,
) -> Layout:
    """The layout of a model given its channels' parsed samples, observations and measurement."""
    if normsys_code not in NORMSYS_CODES or histosys_code not in HISTOSYS_CODES:
        raise Unsupported(f"interpolation {normsys_code}/{histosys_code} is not implemented by the engine")
    ns_code, hs_code = NORMSYS_CODES[normsys_code], HISTOSYS_CODES[histosys_code]
    offsets: dict[str, tuple[int, int]] = {}
    total = 0
    for cname, samples in channels:
        nb = len(samples[0].data) if samples else 0
        if cname in offsets:
            raise Unsupported(f"channel {cname!r} appears twice")
        offsets[cname] = (total, nb)
        total += nb
    params: dict[str, _Param] = {}
    npar = 0

    def param(name: str, kind: str, cname: str) -> _Param:
        nonlocal npar
        want = _KIND[kind]
        found = params.get(name)
        if found is None:
            size = offsets[cname][1] if want in ("shapesys", "staterror", "shapefactor") else 1
            found = params[name] = _Param(
                name, want, size, npar, cname if size > 1 or want in ("shapesys", "staterror", "shapefactor") else None
            )
            npar += size
        elif found.kind != want:
            raise Unsupported(f"parameter {name!r} is used by modifiers of different kinds")
        elif found.channel is not None and found.channel != cname:
            raise Unsupported(f"per-bin parameter {name!r} spans several channels")
        return found

    rows: list[tuple[str, str]] = []
    nominal_rows: list[np.ndarray] = []
    apps: list[tuple[int, int, int, float, float]] = []  # row, param, kind, hi, lo
    bins: list[tuple[int, int, int]] = []  # row, global bin, param element
    hist: list[tuple[int, int, int, np.ndarray, np.ndarray]] = []  # row, param, code, up, dn
    for cname, samples in channels:
        start, nb = offsets[cname]
        for sample in samples:
            if len(sample.data) != nb:
                raise Unsupported(f"samples of channel {cname!r} have different numbers of bins")
            r = len(rows)
            rows.append((cname, sample.name))
            nom = np.zeros(total)
            nom[start : start + nb] = sample.data
            nominal_rows.append(nom)
            seen: set[tuple[str, str]] = set()
            for kind, name, data in sample.modifiers:
                if (kind, name) in seen:
                    raise Unsupported(f"modifier {name!r} ({kind}) appears twice on one sample")
                seen.add((kind, name))
                p = param(name, kind, cname)
                if kind in ("normfactor", "lumi"):
                    apps.append((r, p.start, 0, 1.0, 1.0))
                elif kind == "normsys":
                    hi, lo = data
                    if ns_code == 2 and (hi <= 0 or lo <= 0):
                        raise Unsupported(f"normsys {name!r} has a non-positive hi/lo factor")
                    apps.append((r, p.start, ns_code, hi, lo))
                elif kind == "histosys":
                    hi, lo = data
                    up = np.zeros(total)
                    dn = np.zeros(total)
                    up[start : start + nb] = hi - sample.data
                    dn[start : start + nb] = sample.data - lo
                    hist.append((r, p.start, hs_code, up, dn))
                else:  # per-bin
                    for i in range(nb):
                        bins.append((r, start + i, p.start + i))
                    if kind == "staterror":
                        if p.nominal is None:
                            p.nominal, p.variance = np.zeros(nb), np.zeros(nb)
                        p.nominal = p.nominal + sample.data
                        p.variance = p.variance + np.asarray(data) ** 2
                    elif kind == "shapesys":
                        if p.shapesys is not None:
                            raise Unsupported(f"shapesys {name!r} is on several samples")
                        p.shapesys = (sample.data, np.asarray(data))
    R, B, P = len(rows), total, npar
    labels = [""] * P
    ctype = np.zeros(P, dtype=np.int32)
    sigma = np.ones(P)
    tau = np.ones(P)
    aux = np.zeros(P)
    init = np.zeros(P)
    lower = np.zeros(P)
    upper = np.zeros(P)
    fixed = np.zeros(P, dtype=bool)
    for p in params.values():
        sl = slice(p.start, p.start + p.size)
        for i in range(p.size):
            labels[p.start + i] = p.name if p.size == 1 else f"{p.name}[{i}]"
        if p.kind == "normfactor":
            init[sl], lower[sl], upper[sl] = 1.0, 0.0, 10.0
        elif p.kind == "shapefactor":
            init[sl], lower[sl], upper[sl] = 1.0, 0.0, 10.0
        elif p.kind == "alpha":
            init[sl], lower[sl], upper[sl] = 0.0, -5.0, 5.0
            ctype[sl], aux[sl], sigma[sl] = GAUSSIAN, 0.0, 1.0
        elif p.kind == "lumi":
            ctype[sl] = GAUSSIAN
            init[sl], lower[sl], upper[sl], aux[sl], sigma[sl] = 1.0, 0.0, 10.0, 1.0, math.nan  # set by config
        elif p.kind == "staterror":
            init[sl], lower[sl], upper[sl] = 1.0, 1e-10, 10.0
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(p.nominal > 0, np.sqrt(p.variance) / np.where(p.nominal > 0, p.nominal, 1.0), 0.0)
            zero = rel == 0
            ctype[sl], aux[sl], sigma[sl] = GAUSSIAN, 1.0, np.where(zero, 1.0, rel)
            fixed[sl] = zero
        elif p.kind == "shapesys":
            nom, unc = p.shapesys  # type: ignore[misc]
            valid = (nom > 0) & (unc > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                factors = np.where(valid, nom**2 / np.where(valid, unc, 1.0) ** 2, 1.0)
            init[sl], lower[sl], upper[sl] = 1.0, 1e-10, 10.0
            ctype[sl], tau[sl], aux[sl] = POISSON, factors, factors
            fixed[sl] = ~valid
    # the measurement's parameter settings
    config = measurement.get("config") or {}
    for setting in config.get("parameters") or []:
        found = params.get(setting.get("name"))
        if found is None:
            continue
        p = found
        sl = slice(p.start, p.start + p.size)
        for key, target in (("inits", init), ("auxdata", aux), ("sigmas", sigma), ("factors", tau)):
            if key in setting:
                values = np.asarray(setting[key], dtype=float).reshape(-1)
                if values.size != p.size:
                    raise Unsupported(f"measurement setting {key} of {p.name!r} has the wrong length")
                target[sl] = values
        if "bounds" in setting:
            b = np.asarray(setting["bounds"], dtype=float).reshape(-1, 2)
            if len(b) != p.size:
                raise Unsupported(f"measurement bounds of {p.name!r} have the wrong length")
            lower[sl], upper[sl] = b[:, 0], b[:, 1]
        if setting.get("fixed"):
            fixed[sl] = True
    for p in params.values():
        if p.kind == "lumi" and not np.all(np.isfinite(sigma[p.start : p.start + p.size])):
            raise Unsupported(f"lumi {p.name!r} has no width in the measurement's parameters")
    poi_name = config.get("poi")
    poi = params.get(poi_name) if isinstance(poi_name, str) else None
    if poi is None or poi.size != 1:
        raise Unsupported(f"the POI {poi_name!r} is not a scalar parameter of the model")
    # the request's options
    index = {label: i for i, label in enumerate(labels)}
    for name, value in fixed_params:
        match = _ELEMENT.match(name)
        if name in params:
            p = params[name]
            targets = list(range(p.start, p.start + p.size))
        elif match and match["name"] in params and int(match["index"]) < params[match["name"]].size:
            targets = [params[match["name"]].start + int(match["index"])]
        elif name in index:
            targets = [index[name]]
        else:
            raise Unsupported(f"fixed parameter {name!r} is not in the model")
        for i in targets:
            init[i], fixed[i] = value, True
    if fix_shapesys_tau_above is not None:
        stiff = (ctype == POISSON) & (tau > fix_shapesys_tau_above)
        init[stiff], fixed[stiff] = 1.0, True
    # observations
    observed = np.zeros(B)
    for cname, (start, nb) in offsets.items():
        if cname not in observations:
            raise Unsupported(f"channel {cname!r} has no observation")
        observed[start : start + nb] = _floats(observations[cname], nb, f"observation of {cname!r}")
    # index tables
    A = len(apps)
    per_row: list[list[int]] = [[] for _ in range(R)]
    for a, (r, *_rest) in enumerate(apps):
        per_row[r].append(a)
    K = max((len(x) for x in per_row), default=0)
    row_apps = np.full((R, max(K, 1)), A, dtype=np.int32)
    for r, lst in enumerate(per_row):
        row_apps[r, : len(lst)] = lst
    per_bin: dict[tuple[int, int], list[int]] = {}
    for r, bin_index, e in bins:
        per_bin.setdefault((r, bin_index), []).append(e)
    K2 = max((len(x) for x in per_bin.values()), default=0)
    bin_params = np.full((R, B, max(K2, 1)), P, dtype=np.int32)
    for (r, bin_index), lst in per_bin.items():
        bin_params[r, bin_index, : len(lst)] = lst
    layout = Layout(
        labels=labels,
        poi_index=poi.start,
        poi_name=poi.name,
        channels=[(c, offsets[c][1]) for c, _ in channels],
        samples=rows,
        row_apps=row_apps,
        app_param=np.array([a[1] for a in apps], dtype=np.int32).reshape(A),
        app_kind=np.array([a[2] for a in apps], dtype=np.int32).reshape(A),
        bin_params=bin_params,
        hs_param=np.array([h[1] for h in hist], dtype=np.int32).reshape(len(hist)),
        hs_row=np.array([h[0] for h in hist], dtype=np.int32).reshape(len(hist)),
        hs_kind=np.array([h[2] for h in hist], dtype=np.int32).reshape(len(hist)),
        ctype=ctype,
        nominal=np.array(nominal_rows).reshape(R, B),
        app_hi=np.array([a[3] for a in apps], dtype=float).reshape(A),
        app_lo=np.array([a[4] for a in apps], dtype=float).reshape(A),
        hs_up=np.array([h[3] for h in hist], dtype=float).reshape(len(hist), B),
        hs_dn=np.array([h[4] for h in hist], dtype=float).reshape(len(hist), B),
        sigma=sigma,
        tau=tau,
        aux=aux,
        init=init,
        lower=lower,
        upper=upper,
        fixed=fixed,
        observed=observed,
    )
    digest = hashlib.sha256()
    for arr in layout.structure_arrays():
        digest.update(str(arr.shape).encode())
        digest.update(np.ascontiguousarray(arr).tobytes())
    digest.update(str(poi.start).encode())
    layout.key = digest.hexdigest()
    return layout


_SAMPLE_PATH = re.compile(r"^/channels/(\d+)/samples/(\d+|-)$")
_CHANNEL_PATH = re.compile(r"^/channels/(\d+)$")


class Background:
    """A workspace parsed once; :meth:`layout` gives the layout of it with a patch applied."""

    def __init__(self, spec: Mapping[str, Any], measurement: str | None = None, **options: Any):
        self.spec = spec
        self.measurement = _measurement(spec, measurement)
        self.measurement_name = measurement
        self.options = options
        self.observations = {o["name"]: o["data"] for o in spec.get("observations") or []}
        self.channels: list[tuple[str, list[_Sample]]] = []
        for ch in spec.get("channels") or []:
            samples = ch.get("samples") or []
            nb = len(samples[0].get("data") or []) if samples else 0
            self.channels.append((ch["name"], [_parse_sample(s, nb) for s in samples]))

    def layout(self, patch: Sequence[Mapping[str, Any]] | None = None) -> Layout:
        if not patch:
            return build(self.channels, self.observations, self.measurement, **self.options)
        channels = [(name, list(samples)) for name, samples in self.channels]
        try:
            for op in patch:
                self._apply(channels, op)
        except Unsupported:
            return self._slow(patch)
        return build(channels, self.observations, self.measurement, **self.options)

    @staticmethod
    def _apply(channels: list[tuple[str, list[_Sample]]], op: Mapping[str, Any]) -> None:
        path = op.get("path", "")
        kind = op.get("op")
        m = _SAMPLE_PATH.match(path)
        if m and kind in ("add", "remove", "replace"):
            c = int(m[1])
            if c >= len(channels):
                raise Unsupported("patch path out of range")
            name, samples = channels[c]
            j = len(samples) if m[2] == "-" else int(m[2])
            if kind == "remove" or kind == "replace":
                if j >= len(samples):
                    raise Unsupported("patch path out of range")
                del samples[j]
            if kind in ("add", "replace"):
                if j > len(samples):
                    raise Unsupported("patch path out of range")
                nb = len(samples[0].data) if samples else len(op["value"].get("data") or [])
                samples.insert(j, _parse_sample(op["value"], nb))
            return
        m = _CHANNEL_PATH.match(path)
        if m and kind == "remove" and int(m[1]) < len(channels):
            del channels[int(m[1])]
            return
        raise Unsupported("a patch operation outside the channels' samples")

    def _slow(self, patch: Sequence[Mapping[str, Any]]) -> Layout:
        """Any other patch: apply it to a copy of the whole workspace and parse that."""
        import jsonpatch

        try:
            spec = jsonpatch.JsonPatch(list(patch)).apply(copy.deepcopy(dict(self.spec)))
        except Exception as exc:
            raise Unsupported(f"the patch does not apply ({exc})") from None
        other = Background(spec, self.measurement_name, **self.options)
        return other.layout(None)


class Dims(NamedTuple):
    """Array sizes a batch is padded to: rows, bins, factors per row, per-bin factors per bin,
    scalar factors, histosys shifts, parameters."""

    rows: int
    bins: int
    per_row: int
    per_bin: int
    apps: int
    shifts: int
    params: int


def _up(x: int, m: int) -> int:
    return max(m, -(-x // m) * m)


def dims_of(layouts: Sequence[Layout]) -> Dims:
    """Sizes that hold every layout, rounded up so that nearby patchsets share compiled code."""
    return Dims(
        rows=_up(max(lay.nominal.shape[0] for lay in layouts), 4),
        bins=max(lay.nominal.shape[1] for lay in layouts),
        per_row=_up(max(lay.row_apps.shape[1] for lay in layouts), 4),
        per_bin=max(lay.bin_params.shape[2] for lay in layouts),
        apps=_up(max(len(lay.app_param) for lay in layouts), 32),
        shifts=_up(max(len(lay.hs_param) for lay in layouts), 32),
        params=_up(max(lay.npars for lay in layouts), 16),
    )


def _grow(arr: np.ndarray, shape: tuple[int, ...], fill: Any) -> np.ndarray:
    out = np.full(shape, fill, dtype=arr.dtype)
    out[tuple(slice(0, n) for n in arr.shape)] = arr
    return out


def padded(lay: Layout, d: Dims) -> dict[str, np.ndarray]:
    """The layout's arrays grown to ``d``: extra rows are empty, extra factors are 1, extra
    shifts are 0, extra parameters are fixed and used by nothing, extra bins hold no events."""
    R, B, P, A = d.rows, d.bins, d.params, d.apps
    row_apps = np.where(lay.row_apps == len(lay.app_param), A, lay.row_apps)
    bin_params = np.where(lay.bin_params == lay.npars, P, lay.bin_params)
    return {
        "row_apps": _grow(row_apps, (R, d.per_row), A),
        "app_param": _grow(lay.app_param, (A,), P),
        "app_kind": _grow(lay.app_kind, (A,), 0),
        "bin_params": _grow(bin_params, (R, B, d.per_bin), P),
        "hs_param": _grow(lay.hs_param, (d.shifts,), P),
        "hs_row": _grow(lay.hs_row, (d.shifts,), 0),
        "hs_kind": _grow(lay.hs_kind, (d.shifts,), 0),
        "ctype": _grow(lay.ctype, (P,), NO_CONSTRAINT),
        "nominal": _grow(lay.nominal, (R, B), 0.0),
        "app_hi": _grow(lay.app_hi, (A,), 1.0),
        "app_lo": _grow(lay.app_lo, (A,), 1.0),
        "hs_up": _grow(lay.hs_up, (d.shifts, B), 0.0),
        "hs_dn": _grow(lay.hs_dn, (d.shifts, B), 0.0),
        "sigma": _grow(lay.sigma, (P,), 1.0),
        "tau": _grow(lay.tau, (P,), 1.0),
        "aux": _grow(lay.aux, (P,), 0.0),
        "init": _grow(lay.init, (P,), 0.0),
        "lower": _grow(lay.lower, (P,), 0.0),
        "upper": _grow(lay.upper, (P,), 1.0),
        "fixed": _grow(lay.fixed, (P,), True),
        "observed": _grow(lay.observed, (B,), 0.0),
    }
