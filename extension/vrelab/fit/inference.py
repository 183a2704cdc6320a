"""Fits, hypothesis tests and upper limits on pyhf models (runs inside worker processes).

Everything here is plain pyhf + numpy: a :class:`FitOptions` says how (measurement, test
statistic, calculator, backend, fixed parameters), :func:`prepare` builds the model once, and
:func:`mle_fit`, :func:`hypotest` and :func:`upper_limit` return the NamedTuples of
:mod:`vrelab.fit.results`. The caller chooses the backend once per process (:func:`use_backend`).

Uncertainties and correlations come from the Hessian of the NLL at the best fit, computed by
finite differences on a *batched* copy of the model (pyhf evaluates a whole batch of parameter
points in one vectorised call), so they cost a few vectorised evaluations instead of one fit per
parameter, whichever optimizer found the minimum.
"""

from __future__ import annotations

import copy
import importlib.util
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from ..errors import BadRequest
from .errors import FitFailed, PatchDoesNotApply
from .results import ChannelYields, FitResult, HypotestResult, LimitResult

__all__ = [
    "FitOptions",
    "Prepared",
    "hypotest",
    "mle_fit",
    "prepare",
    "upper_limit",
    "use_backend",
]

TEST_STATS = ("qtilde", "q")
CALCTYPES = ("asymptotics", "toybased")
BACKENDS = ("numpy", "jax")
OPTIMIZERS = ("scipy", "minuit")
ENGINES = ("jax", "pyhf")
_ELEMENT = re.compile(r"^(?P<name>.+)\[(?P<index>\d+)\]$")


class FitOptions(NamedTuple):
    """How to fit: every field is part of a result's cache key."""

    measurement: str | None = None
    poi_value: float = 1.0
    test_stat: str = "qtilde"
    calctype: str = "asymptotics"
    ntoys: int = 1000
    backend: str = "numpy"
    optimizer: str = "scipy"
    fixed_params: tuple[tuple[str, float], ...] = ()
    fix_shapesys_tau_above: float | None = None
    engine: str = "pyhf"  # "jax": the compiled engine (vrelab.fit.engine); "pyhf": pyhf itself

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> FitOptions:
        """Check and normalise the options of a request; BadRequest names the bad one."""

        def choice(name: str, allowed: Sequence[str], default: str) -> str:
            value = params.get(name, default)
            if value is None:
                return default
            if value not in allowed:
                raise BadRequest(
                    f"'{name}' must be one of {', '.join(allowed)}; got {value!r}.", details={"field": name}
                )
            return str(value)

        def number(name: str, default: float | None, *, positive: bool = False) -> float | None:
            value = params.get(name, default)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise BadRequest(f"'{name}' must be a finite number; got {value!r}.", details={"field": name})
            if positive and value <= 0:
                raise BadRequest(f"'{name}' must be positive; got {value!r}.", details={"field": name})
            return float(value)

        measurement = params.get("measurement")
        if measurement is not None and (not isinstance(measurement, str) or not measurement):
            raise BadRequest("'measurement' must be a measurement's name.", details={"field": "measurement"})
        ntoys = params.get("ntoys", 1000)
        if isinstance(ntoys, bool) or not isinstance(ntoys, int) or not 10 <= ntoys <= 100_000:
            raise BadRequest("'ntoys' must be an integer from 10 to 100000.", details={"field": "ntoys"})
        fixed = params.get("fixed_params") or {}
        if not isinstance(fixed, dict):
            raise BadRequest(
                '\'fixed_params\' must be an object {parameter: value}, e.g. {"lumi": 1.0, "mu_BG[0]": 1.0}.',
                details={"field": "fixed_params"},
            )
        for name, value in fixed.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise BadRequest(
                    f"'fixed_params' value of {name!r} must be a finite number.", details={"field": "fixed_params"}
                )
        backend = choice("backend", BACKENDS, "numpy")
        optimizer = choice("optimizer", OPTIMIZERS, "scipy")
        needed = {"jax": "jax", "minuit": "iminuit"}
        for what in (backend, optimizer):
            module = needed.get(what)
            if module and importlib.util.find_spec(module) is None:
                raise BadRequest(
                    f"The {what} {'backend' if what == backend else 'optimizer'} needs the '{module}' package, "
                    "which is not installed on this server.",
                    details={"field": "backend" if what == backend else "optimizer"},
                )
        calctype = choice("calctype", CALCTYPES, "asymptotics")
        engine = params.get("engine")
        if engine is not None:
            engine = choice("engine", ENGINES, "jax")
            if engine == "jax" and importlib.util.find_spec("jax") is None:
                raise BadRequest(
                    "The jax engine needs the 'jax' package, which is not installed on this server.",
                    details={"field": "engine"},
                )
            if engine == "jax" and calctype != "asymptotics":
                raise BadRequest(
                    "The jax engine computes asymptotic CLs; toy-based tests run with engine 'pyhf'.",
                    details={"field": "engine"},
                )
        else:
            # the engine by default, unless the request asks for a pyhf configuration of its own
            pyhf_asked = (
                calctype != "asymptotics"
                or params.get("backend") not in (None, "numpy")
                or params.get("optimizer") not in (None, "scipy")
            )
            engine = "pyhf" if pyhf_asked or importlib.util.find_spec("jax") is None else "jax"
        return cls(
            measurement=measurement,
            poi_value=number("poi_value", 1.0) or 0.0,
            test_stat=choice("test_stat", TEST_STATS, "qtilde"),
            calctype=calctype,
            ntoys=int(ntoys),
            backend=backend,
            optimizer=optimizer,
            fixed_params=tuple(sorted((str(k), float(v)) for k, v in fixed.items())),
            fix_shapesys_tau_above=number("fix_shapesys_tau_above", None, positive=True),
            engine=engine,
        )

    def to_dict(self) -> dict[str, Any]:
        data = self._asdict()
        data["fixed_params"] = dict(self.fixed_params)
        return data


_BACKEND: tuple[str, str, bool] | None = None


def use_backend(backend: str = "numpy", optimizer: str = "scipy", *, batched_gradients: bool = True) -> None:
    """Select pyhf's backend and optimizer for this process (cheap when unchanged).

    With ``batched_gradients`` (the default), numpy + scipy takes SLSQP's finite-difference
    gradients from one batched call (:mod:`vrelab.fit.batchgrad`) on the models where that pays
    (:func:`batched_gradient_pays`); the optimizer's path is the same as pyhf's.
    """
    global _BACKEND
    if _BACKEND == (backend, optimizer, batched_gradients):
        return
    import pyhf

    if backend == "numpy" and optimizer == "scipy" and batched_gradients:
        from .batchgrad import optimizer as batched_optimizer

        pyhf.set_backend("numpy", batched_optimizer())
    else:
        pyhf.set_backend(backend, optimizer)
    _BACKEND = (backend, optimizer, batched_gradients)


def batched_gradients_active() -> bool:
    return _BACKEND is not None and _BACKEND[0] == "numpy" and _BACKEND[1] == "scipy" and _BACKEND[2]


class Prepared(NamedTuple):
    """A model ready to fit: the model, its data, initial values, bounds and fixed flags."""

    model: Any
    data: Any
    init: list[float]
    bounds: list[tuple[float, float]]
    fixed: list[bool]
    labels: list[str]
    workspace: Any
    patch: list[dict[str, Any]] | None
    measurement: str | None


# Above this many elements per batch row, pyhf's batched interpolation costs more than the
# npars + 1 single calls it replaces (see batched_gradient_pays).
BATCHED_GRADIENT_MAX_WIDTH = 3000


def batched_gradient_pays(model: Any) -> bool:
    """Whether SLSQP's gradients are cheaper from one batched call than from npars + 1 single ones.

    A single ``logpdf`` costs ~0.2 ms whatever the model (Python overhead); a batched one costs
    per row ~35-60 ns per element of pyhf's interpolation tensors, (normsys + histosys modifiers)
    x samples x bins. Measured per gradient (2 cores, one BLAS thread): 3L-eRJR (width 1,904) 3.0x
    faster, sbottom-RegionA (4,914) 1.0x, staus-combined (6,800) 0.5x. A rule on the model's
    shape, not a timing, so the choice (and the optimizer's path) never depends on the load.
    """
    interpolated = sum(1 for _, kind in model.config.modifiers if kind in ("normsys", "histosys"))
    width = interpolated * len(model.config.samples) * model.config.nmaindata
    return width <= BATCHED_GRADIENT_MAX_WIDTH


def parameter_labels(model: Any) -> list[str]:
    """One label per parameter element, in the model's order: ``name`` or ``name[i]``."""
    labels = [""] * model.config.npars
    for name in model.config.par_order:
        sl = model.config.par_slice(name)
        n = sl.stop - sl.start
        for i in range(n):
            labels[sl.start + i] = name if n == 1 else f"{name}[{i}]"
    return labels


def _apply_options(model: Any, options: FitOptions) -> tuple[list[float], list[bool]]:
    init = [float(x) for x in model.config.suggested_init()]
    fixed = [bool(x) for x in model.config.suggested_fixed()]
    for name, value in options.fixed_params:
        match = _ELEMENT.match(name)
        base, index = (match["name"], int(match["index"])) if match else (name, None)
        if base not in model.config.par_order:
            raise BadRequest(
                f"'fixed_params' names {name!r}, which is not a parameter of this model.",
                details={"parameter": name},
            )
        sl = model.config.par_slice(base)
        indices = range(sl.start, sl.stop) if index is None else [sl.start + index]
        if index is not None and sl.start + index >= sl.stop:
            raise BadRequest(f"{base!r} has {sl.stop - sl.start} element(s); {name!r} is out of range.")
        for i in indices:
            init[i] = value
            fixed[i] = True
    if options.fix_shapesys_tau_above is not None:
        shapesys = {name for name, kind in model.config.modifiers if kind == "shapesys"}
        for name in shapesys:
            pset = model.config.param_set(name)
            sl = model.config.par_slice(name)
            for i, tau in enumerate(getattr(pset, "factors", None) or []):
                if tau > options.fix_shapesys_tau_above:
                    init[sl.start + i] = 1.0
                    fixed[sl.start + i] = True
    return init, fixed


def apply_patch(spec: dict[str, Any], patch: list[dict[str, Any]]) -> dict[str, Any]:
    """The workspace spec with a JSON patch applied (a copy), or PatchDoesNotApply saying why."""
    import jsonpatch
    import jsonpointer

    try:
        return jsonpatch.JsonPatch(patch).apply(copy.deepcopy(spec))
    except (
        jsonpatch.JsonPatchException,
        jsonpointer.JsonPointerException,
        TypeError,
        KeyError,
        AttributeError,
        ValueError,
        IndexError,
    ) as exc:
        raise PatchDoesNotApply(f"The patch does not apply to this workspace: {exc}.") from None


def prepare(
    workspace: Any,
    options: FitOptions,
    patch: list[dict[str, Any]] | None = None,
    *,
    validate: bool = True,
    batch_size: int | None = None,
) -> Prepared:
    """Build the model of ``workspace`` (with ``patch`` applied) and its data."""
    import jsonpatch
    import jsonpointer
    import pyhf

    try:
        kwargs: dict[str, Any] = {"validate": validate}
        if batch_size:
            kwargs["batch_size"] = batch_size
        model = workspace.model(measurement_name=options.measurement, patches=[patch] if patch else None, **kwargs)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise PatchDoesNotApply(f"The patch does not apply to this workspace: {exc}.") from None
    except pyhf.exceptions.InvalidMeasurement as exc:
        names = [m["name"] for m in workspace.get("measurements", [])]
        raise BadRequest(f"{exc} Measurements: {', '.join(names)}.", details={"measurements": names}) from None
    except pyhf.exceptions.InvalidSpecification as exc:
        from .workspaces import describe_schema_error

        raise PatchDoesNotApply(
            f"The patched workspace is not valid: {describe_schema_error(exc)}", details={"path": exc.path}
        ) from None
    init, fixed = _apply_options(model, options)
    bounds = [tuple(map(float, b)) for b in model.config.suggested_bounds()]
    if batch_size is None and batched_gradients_active() and batched_gradient_pays(model):
        from .batchgrad import register

        twin = workspace.model(
            measurement_name=options.measurement,
            patches=[patch] if patch else None,
            validate=False,
            batch_size=model.config.npars + 1,
        )
        register(model, twin)
    return Prepared(
        model=model,
        data=workspace.data(model),
        init=init,
        bounds=bounds,  # type: ignore[arg-type]
        fixed=fixed,
        labels=parameter_labels(model),
        workspace=workspace,
        patch=patch,
        measurement=options.measurement,
    )


def _minimize_error(exc: Exception) -> FitFailed:
    text = str(exc).strip() or type(exc).__name__
    return FitFailed(f"The fit did not converge: {text}", details={"reason": text[:500]})


# ------------------------------------------------------------------ MLE fit
def _batched(prep: Prepared, size: int) -> Any:
    return prepare(
        prep.workspace,
        FitOptions(measurement=prep.measurement),
        prep.patch,
        validate=False,
        batch_size=size,
    ).model


def _evaluate(batch_model: Any, points: Any, size: int, fn: Callable[[Any, Any], Any]) -> Any:
    import numpy as np

    out = []
    for start in range(0, len(points), size):
        chunk = points[start : start + size]
        n = len(chunk)
        if n < size:  # a batched model takes exactly its batch size
            chunk = np.vstack([chunk, np.repeat(chunk[-1:], size - n, axis=0)])
        out.append(np.asarray(fn(batch_model, chunk))[:n])
    return np.concatenate(out)


def _hessian(batch_model: Any, data: Any, x: Any, free: list[int], steps: Any, size: int) -> Any:
    """Hessian of the NLL on the free parameters, by central differences (one batched pass)."""
    import numpy as np

    n = len(free)
    points = [x.copy()]
    index: dict[tuple[int, int, int, int], int] = {}

    def point(i: int, si: int, j: int, sj: int) -> None:
        p = x.copy()
        p[free[i]] += si * steps[i]
        p[free[j]] += sj * steps[j]
        index[(i, si, j, sj)] = len(points)
        points.append(p)

    for i in range(n):
        for s in (1, -1):
            point(i, s, i, s)  # x +- 2 h_i
        for j in range(i + 1, n):
            for si in (1, -1):
                for sj in (1, -1):
                    point(i, si, j, sj)
    values = -_evaluate(batch_model, np.array(points), size, lambda m, p: m.logpdf(p, data))
    f0 = values[0]
    h = np.empty((n, n))
    for i in range(n):
        h[i, i] = (values[index[(i, 1, i, 1)]] - 2 * f0 + values[index[(i, -1, i, -1)]]) / (4 * steps[i] ** 2)
        for j in range(i + 1, n):
            v = (
                values[index[(i, 1, j, 1)]]
                - values[index[(i, 1, j, -1)]]
                - values[index[(i, -1, j, 1)]]
                + values[index[(i, -1, j, -1)]]
            ) / (4 * steps[i] * steps[j])
            h[i, j] = h[j, i] = v
    return h


def _prior(model: Any) -> tuple[list[float | None], list[float | None]]:
    """Nominal value and prior width of every parameter element (None for unconstrained)."""
    nominal: list[float | None] = [None] * model.config.npars
    width: list[float | None] = [None] * model.config.npars
    for name in model.config.par_order:
        pset = model.config.param_set(name)
        sl = model.config.par_slice(name)
        kind = getattr(pset, "pdf_type", None)
        if kind not in ("normal", "poisson"):
            continue
        widths = pset.width()
        for i in range(sl.stop - sl.start):
            if kind == "normal":
                nominal[sl.start + i] = float(pset.auxdata[i])
            else:
                nominal[sl.start + i] = 1.0
            width[sl.start + i] = float(widths[i])
    return nominal, width


def _yields(
    prep: Prepared,
    batch_model: Any,
    size: int,
    init: Any,
    bestfit: Any,
    covariance: Any,
    free: list[int],
    prior_width: list[float | None],
) -> list[ChannelYields]:
    import numpy as np

    model = prep.model
    by_sample_pre = np.asarray(model.main_model.expected_data(init, return_by_sample=True))
    by_sample_post = np.asarray(model.main_model.expected_data(bestfit, return_by_sample=True))
    observed = np.asarray(prep.data[: model.config.nmaindata])

    def totals(points: Any) -> Any:
        return _evaluate(batch_model, points, size, lambda m, p: m.expected_actualdata(p))

    # pre-fit: each constrained parameter moved by +-1 prior sigma, added in quadrature
    constrained = [i for i, w in enumerate(prior_width) if w is not None and not prep.fixed[i]]
    pre_var = np.zeros(model.config.nmaindata)
    if constrained:
        pts = []
        for i in constrained:
            for s in (1, -1):
                p = np.array(init, dtype=float)
                p[i] += s * float(prior_width[i])  # type: ignore[arg-type]
                pts.append(p)
        t = totals(np.array(pts))
        pre_var = np.sum(((t[0::2] - t[1::2]) / 2) ** 2, axis=0)
    # post-fit: linear propagation of the covariance (Jacobian by central differences)
    post_var = np.zeros(model.config.nmaindata)
    if free and covariance is not None:
        sig = np.sqrt(np.clip(np.diag(covariance), 0, None))
        steps = np.where(sig > 0, 0.1 * sig, 1e-4)
        pts = []
        for k, i in enumerate(free):
            for s in (1, -1):
                p = np.array(bestfit, dtype=float)
                p[i] += s * steps[k]
                pts.append(p)
        t = totals(np.array(pts))
        jac = (t[0::2] - t[1::2]) / (2 * steps[:, None])
        post_var = np.einsum("ib,ij,jb->b", jac, covariance, jac)
    out = []
    for channel in model.config.channels:
        sl = model.config.channel_slices[channel]
        out.append(
            ChannelYields(
                channel=channel,
                observed=observed[sl].tolist(),
                samples=list(model.config.samples),
                prefit=by_sample_pre[:, sl].tolist(),
                prefit_total=by_sample_pre[:, sl].sum(axis=0).tolist(),
                prefit_uncertainty=np.sqrt(pre_var[sl]).tolist(),
                postfit=by_sample_post[:, sl].tolist(),
                postfit_total=by_sample_post[:, sl].sum(axis=0).tolist(),
                postfit_uncertainty=np.sqrt(np.clip(post_var[sl], 0, None)).tolist(),
            )
        )
    return out


def mle_fit(prep: Prepared, options: FitOptions, *, batch_size: int = 512) -> FitResult:
    """Maximum-likelihood fit with uncertainties, correlations, pulls and pre/post-fit yields."""
    import numpy as np
    import pyhf

    started = time.perf_counter()
    try:
        bestfit, twice_nll = pyhf.infer.mle.fit(
            prep.data,
            prep.model,
            init_pars=prep.init,
            par_bounds=prep.bounds,
            fixed_params=prep.fixed,
            return_fitted_val=True,
        )
    except pyhf.exceptions.FailedMinimization as exc:
        raise _minimize_error(exc) from None
    x = np.asarray(bestfit, dtype=float)
    if not np.all(np.isfinite(x)):
        raise FitFailed("The fit ended on non-finite parameter values.")
    nominal, prior_width = _prior(prep.model)
    free = [i for i, f in enumerate(prep.fixed) if not f]
    batch_model = _batched(prep, batch_size)
    npar = len(x)
    uncertainty = np.zeros(npar)
    corr = np.eye(npar)
    covariance = None
    if free:
        # steps: a tenth of the prior width (or of the value's scale), then refined on the curvature
        steps = np.array([0.1 * (prior_width[i] or max(1.0, abs(x[i])) * 0.01) for i in free])
        hess = _hessian(batch_model, prep.data, x, free, steps, batch_size)
        curv = np.diag(hess)
        refined = np.where(curv > 0, 0.05 / np.sqrt(np.abs(curv) + 1e-300), steps)
        if np.any(np.abs(refined / steps - 1) > 0.5):
            steps = refined
            hess = _hessian(batch_model, prep.data, x, free, steps, batch_size)
        try:
            covariance = np.linalg.inv(hess)
        except np.linalg.LinAlgError:
            covariance = np.linalg.pinv(hess)
        sig = np.sqrt(np.clip(np.diag(covariance), 0, None))
        uncertainty[free] = sig
        with np.errstate(invalid="ignore", divide="ignore"):
            sub = covariance / np.outer(sig, sig)
        for a, i in enumerate(free):
            for b, j in enumerate(free):
                corr[i, j] = sub[a, b]
    pulls = []
    for i, label in enumerate(prep.labels):
        if nominal[i] is None or prep.fixed[i] or not prior_width[i]:
            continue
        w = float(prior_width[i])  # type: ignore[arg-type]
        pulls.append(
            {
                "parameter": label,
                "pull": float((x[i] - nominal[i]) / w),  # type: ignore[operator]
                "error": float(uncertainty[i] / w),
                "prior_width": w,
            }
        )
    yields = _yields(
        prep, batch_model, batch_size, np.asarray(prep.init, dtype=float), x, covariance, free, prior_width
    )
    return FitResult(
        poi=prep.model.config.poi_name,
        labels=prep.labels,
        bestfit=x.tolist(),
        uncertainty=uncertainty.tolist(),
        fixed=list(prep.fixed),
        correlations=corr.tolist(),
        twice_nll=float(twice_nll),
        pulls=pulls,
        yields=yields,
        fit_seconds=time.perf_counter() - started,
    )


# ------------------------------------------------------------------ CLs
def _hypotest_kwargs(prep: Prepared, options: FitOptions, init: Sequence[float] | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "init_pars": list(init) if init is not None else prep.init,
        "par_bounds": prep.bounds,
        "fixed_params": prep.fixed,
        "test_stat": options.test_stat,
        "calctype": options.calctype,
    }
    if options.calctype == "toybased":
        kwargs["ntoys"] = options.ntoys
        kwargs["track_progress"] = False
    return kwargs


def warm_start(prep: Prepared, previous: Mapping[str, float] | None) -> list[float] | None:
    """Initial values taken, by parameter name, from a neighbouring fit (fixed ones untouched)."""
    if not previous:
        return None
    init = list(prep.init)
    for i, label in enumerate(prep.labels):
        if not prep.fixed[i] and label in previous:
            lo, hi = prep.bounds[i]
            init[i] = min(max(float(previous[label]), lo), hi)
    return init


def hypotest(
    prep: Prepared, options: FitOptions, *, init: Sequence[float] | None = None, warm: bool = True
) -> HypotestResult:
    """CLs at ``options.poi_value``: observed, expected band, CLs+b and CLb.

    Asymptotic tests start each of their five fits from the previous fits' answers
    (:mod:`vrelab.fit.calculator`) unless ``warm`` is False (then: ``pyhf.infer.hypotest``)."""
    import numpy as np
    import pyhf

    started = time.perf_counter()
    poi = prep.model.config.poi_index
    if poi is None:
        raise BadRequest("This model has no parameter of interest; a hypothesis test needs one.")
    lo, hi = prep.bounds[poi]
    if not lo <= options.poi_value <= hi:
        raise BadRequest(
            f"The tested POI value {options.poi_value} is outside the POI's bounds [{lo}, {hi}].",
            details={"bounds": [lo, hi]},
        )
    try:
        if warm and options.calctype == "asymptotics":
            from .calculator import warm_hypotest

            kwargs = _hypotest_kwargs(prep, options, init)
            cls_obs, clsb, clb, cls_exp, calc = warm_hypotest(
                options.poi_value,
                prep.data,
                prep.model,
                kwargs["init_pars"],
                prep.bounds,
                prep.fixed,
                options.test_stat,
            )
        else:
            cls_obs, (clsb, clb), cls_exp, calc = pyhf.infer.hypotest(
                options.poi_value,
                prep.data,
                prep.model,
                return_tail_probs=True,
                return_expected_set=True,
                return_calculator=True,
                **_hypotest_kwargs(prep, options, init),
            )
    except pyhf.exceptions.FailedMinimization as exc:
        raise _minimize_error(exc) from None
    bestfit: dict[str, float] = {}
    fitted = getattr(calc, "fitted_pars", None)
    if fitted is not None:
        values = np.asarray(fitted.free_fit_to_data, dtype=float)
        bestfit = {label: float(v) for label, v in zip(prep.labels, values, strict=True)}
    if not math.isfinite(float(cls_obs)):
        raise FitFailed("The hypothesis test gave a CLs that is not a number (the fits did not converge).")
    return HypotestResult(
        poi=prep.model.config.poi_name,
        poi_value=options.poi_value,
        cls_obs=float(cls_obs),
        cls_exp=[float(v) for v in np.asarray(cls_exp, dtype=float).ravel()],
        clsb=float(clsb),
        clb=float(clb),
        test_stat=options.test_stat,
        calctype=options.calctype,
        fit_seconds=time.perf_counter() - started,
        bestfit=bestfit,
    )


def upper_limit(
    prep: Prepared,
    options: FitOptions,
    *,
    level: float = 0.05,
    scan: Sequence[float] | None = None,
    poi_range: tuple[float, float] | None = None,
) -> LimitResult:
    """Upper limit on the POI at CLs = ``level``: toms748 root finding, or a given grid."""
    import numpy as np
    import pyhf
    from pyhf.infer.intervals import upper_limits

    started = time.perf_counter()
    poi = prep.model.config.poi_index
    if poi is None:
        raise BadRequest("This model has no parameter of interest; an upper limit needs one.")
    kwargs = _hypotest_kwargs(prep, options, None)
    try:
        if scan is not None:
            obs, exp, (mus, results) = upper_limits.linear_grid_scan(
                prep.data, prep.model, np.asarray(scan, dtype=float), level=level, return_results=True, **kwargs
            )
            method = "grid"
        else:
            lo, hi = poi_range or prep.bounds[poi]
            obs, exp, (mus, results) = upper_limits.toms748_scan(
                prep.data, prep.model, lo, hi, level=level, from_upper_limit_fn=True, **kwargs
            )
            method = "toms748"
    except pyhf.exceptions.FailedMinimization as exc:
        raise _minimize_error(exc) from None
    except ValueError as exc:  # toms748: no sign change within the bounds
        raise FitFailed(
            f"No upper limit between the POI bounds: {exc}. Give a 'poi_range' or a 'scan' grid "
            "that brackets CLs = level."
        ) from None
    order = np.argsort(np.asarray(mus, dtype=float))
    mus = np.asarray(mus, dtype=float)[order]
    obs_curve = [float(np.asarray(results[i][0])) for i in order]
    exp_curve = np.array([np.asarray(results[i][-1], dtype=float).ravel() for i in order]).T
    return LimitResult(
        poi=prep.model.config.poi_name,
        level=level,
        obs_limit=float(obs),
        exp_limits=[float(v) for v in np.asarray(exp, dtype=float).ravel()],
        poi_values=mus.tolist(),
        cls_obs=obs_curve,
        cls_exp=exp_curve.tolist(),
        method=method,
        fit_seconds=time.perf_counter() - started,
    )
