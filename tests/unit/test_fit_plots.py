"""Plots of fit results (vrelab.plots.fit) and ``--plot`` (vrelab.cli.fit_plots), against reference images.

The results drawn are real job results (tests/data/fit_results/*.json, made by make_fixtures.py
from fits on the published likelihoods). Each plot is compared with its baseline PNG in
tests/data/plots/ with matplotlib's ``compare_images`` (RMS tolerance). After an intended change
of a plot, regenerate the baselines and look at them before committing:

    VRELAB_UPDATE_PLOT_BASELINES=1 .venv/bin/python -m pytest tests/unit/test_fit_plots.py
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mplhep")
pytest.importorskip("scipy")

from matplotlib.figure import Figure
from matplotlib.testing.compare import compare_images

from vrelab.cli.fit_plots import emit_plots, save_plots
from vrelab.errors import BadRequest
from vrelab.fit.contour import contours
from vrelab.plots import fit as plots

DATA = Path(__file__).resolve().parents[1] / "data"
RESULTS = DATA / "fit_results"
BASELINES = DATA / "plots"
UPDATE = os.environ.get("VRELAB_UPDATE_PLOT_BASELINES") == "1"
TOLERANCE = 2.0  # RMS difference on 0-255 grey levels
DPI = 50
POI = plots.poi_tex("mu_SIG")


def load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


MLE = load("sbottom_mle")
HYPOTEST = load("sbottom_hypotest")
LIMIT = load("sbottom_limit")
SCAN = load("erjr_scan")
PATCH = MLE["patch"]

DRAW = {
    "cls": lambda: plots.plot_cls(HYPOTEST, poi_label=POI, label=PATCH),
    "brazil": lambda: plots.plot_brazil(LIMIT, poi_label=POI, label=PATCH),
    "brazil_log": lambda: plots.plot_brazil(LIMIT, poi_label=POI, log_y=True),
    "pulls": lambda: plots.plot_pulls(MLE, label=PATCH),
    "correlations": lambda: plots.plot_correlations(MLE, threshold=0.1, label=PATCH),
    "yields_SR_prefit": lambda: plots.plot_yields(MLE, "SR_meff", stage="prefit", label=PATCH),
    "yields_SR_postfit": lambda: plots.plot_yields(MLE, "SR_meff", stage="postfit", label=PATCH),
    "yields_CRtt_postfit_log": lambda: plots.plot_yields(MLE, "CRtt_meff", log_y=True),
    "contour": lambda: plots.plot_contour(SCAN, label="3L-eRJR"),
}


def render(figure: Figure, path: Path) -> Path:
    figure.savefig(path, dpi=DPI)
    return path


def differs(baseline: Path, actual: Path) -> str | None:
    return compare_images(str(baseline), str(actual), tol=TOLERANCE)


def versions() -> dict[str, str]:
    import matplotlib
    import mplhep

    return {"matplotlib": matplotlib.__version__, "mplhep": mplhep.__version__}


@pytest.mark.parametrize("name", sorted(DRAW))
def test_plot_matches_its_baseline(name, tmp_path):
    actual = render(DRAW[name](), tmp_path / f"{name}.png")
    baseline = BASELINES / f"{name}.png"
    made_with = BASELINES / "versions.json"
    if UPDATE:
        BASELINES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(actual, baseline)
        made_with.write_text(json.dumps(versions(), indent=1) + "\n")
    assert baseline.is_file(), f"no baseline {baseline}: make it with VRELAB_UPDATE_PLOT_BASELINES=1"
    diff = differs(baseline, actual)
    assert diff is None, (
        f"the {name} plot changed ({diff}); if intended, regenerate the baselines. "
        f"Baselines made with {made_with.read_text().strip() if made_with.is_file() else '?'}, this run: {versions()}"
    )


def test_a_changed_result_fails_the_comparison(tmp_path):
    moved = copy.deepcopy(MLE)
    moved["pulls"][0]["pull"] += 1.5  # one parameter pulled by 1.5 sigma more
    assert differs(BASELINES / "pulls.png", render(plots.plot_pulls(moved, label=PATCH), tmp_path / "a.png"))
    flipped = copy.deepcopy(SCAN)
    for point in flipped["points"][:10]:
        point["CLs_obs"] = 1e-4  # ten points now strongly excluded: their colour changes
    assert differs(BASELINES / "contour.png", render(plots.plot_contour(flipped, label="3L-eRJR"), tmp_path / "b.png"))


def test_each_plot_draws_into_a_given_axes():
    for draw in (
        lambda ax: plots.plot_cls(HYPOTEST, ax),
        lambda ax: plots.plot_brazil(LIMIT, ax),
        lambda ax: plots.plot_pulls(MLE, ax),
        lambda ax: plots.plot_correlations(MLE, ax, threshold=0.3),
        lambda ax: plots.plot_yields(MLE, "SR_meff", ax),
        lambda ax: plots.plot_contour(SCAN, ax),
    ):
        figure = Figure()
        ax = figure.add_subplot()
        assert draw(ax) is figure
        assert ax.has_data() or ax.images
    figure = Figure()
    main, ratio = figure.subplots(2, 1)
    assert plots.plot_yields(MLE, "SR_meff", (main, ratio)) is figure and ratio.has_data()


def test_correlation_threshold_keeps_only_correlated_parameters():
    free = [label for label, fixed in zip(MLE["labels"], MLE["fixed"], strict=True) if not fixed]
    names, matrix = plots.correlation_subset(MLE)
    assert names == free and matrix.shape == (len(free), len(free))
    index = {label: i for i, label in enumerate(MLE["labels"])}
    corr = MLE["correlations"]

    def strongest(label: str) -> float:
        return max(abs(corr[index[label]][index[other]] or 0.0) for other in free if other != label)

    kept, matrix = plots.correlation_subset(MLE, threshold=0.3)
    assert 2 <= len(kept) < len(free) and matrix.shape == (len(kept), len(kept))
    assert all(strongest(label) >= 0.3 for label in kept)
    assert all(strongest(label) < 0.3 for label in set(free) - set(kept))
    figure = plots.plot_correlations(MLE, threshold=0.3)
    ticks = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert ticks == kept


def test_pulls_show_constrained_parameters_and_leave_out_excluded_ones():
    figure = plots.plot_pulls(MLE, exclude=["staterror_*", "JET_*"])
    names = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    expected = [
        p["parameter"]
        for p in MLE["pulls"]
        if not p["parameter"].startswith("staterror_") and not p["parameter"].startswith("JET_")
    ]
    assert names == expected[::-1] or names == expected  # drawn top to bottom
    assert MLE["poi"] not in names and "lumi" in names


def test_yields_stack_every_sample_and_show_the_data():
    entry = next(y for y in MLE["yields"] if y["channel"] == "SR_meff")
    figure = plots.plot_yields(MLE, "SR_meff", stage="postfit")
    main = figure.axes[0]
    legend = [t.get_text() for t in main.get_legend().get_texts()]
    assert set(entry["samples"]) <= set(legend) and "Data" in legend
    (data,) = [c for c in main.containers if hasattr(c, "lines") and c.lines[0] is not None]
    assert list(data.lines[0].get_ydata()) == entry["observed"]
    with pytest.raises(ValueError, match="No channel 'VR'.*SR_meff"):
        plots.plot_yields(MLE, "VR")
    with pytest.raises(ValueError, match="stage"):
        plots.plot_yields(MLE, "SR_meff", stage="after")


def test_contour_of_a_three_label_grid_draws_the_chosen_slice():
    points = []
    for lsp in (0.0, 60.0):  # the real 3L-eRJR points twice, at two values of a third label
        for p in SCAN["points"]:
            scale = 1.0 if lsp == 0.0 else 0.5
            points.append(
                {**p, "values": [*p["values"], lsp], "CLs_obs": p["CLs_obs"] * scale, "CLs_exp": p["CLs_exp"]}
            )
    labels = [*SCAN["labels"], "mx"]
    grid = {"labels": labels, "points": points, "contours": contours(labels, points, ["mn2", "mn1"])}
    assert [c["fixed"] for c in grid["contours"]] == [{"mx": 0.0}, {"mx": 60.0}]
    figure = plots.plot_contour(grid, fixed={"mx": 60})
    ax = figure.axes[0]
    (scatter,) = ax.collections[-1:]
    assert len(scatter.get_offsets()) == len(SCAN["points"])
    assert "mx = 60" in ax.get_legend().get_title().get_text()
    assert "m(" in ax.get_xlabel() and "chi" in ax.get_xlabel() and "GeV" in ax.get_ylabel()
    assert list(plots.plots_for(grid)) == ["contour (mx=0)", "contour (mx=60)"]
    with pytest.raises(ValueError, match="mx=0; mx=60"):
        plots.plot_contour(grid, fixed={"mx": 5})
    custom = plots.plot_contour(grid, index=1, axis_labels={"mn2": "heavy", "mn1": "light"})
    assert custom.axes[0].get_xlabel() == "heavy" and custom.axes[0].get_ylabel() == "light"


def _filled_band(ax):
    from matplotlib.contour import ContourSet

    (band,) = [c for c in ax.collections if isinstance(c, ContourSet) and c.filled]
    return band


def test_the_expected_band_surrounds_the_expected_line():
    """The ±1σ band is filled between the -1σ and +1σ contours: the median expected line runs
    inside it all along (a band filled from a max() of the two fields left parts of it bare)."""
    ax = plots.plot_contour(SCAN, label="3L-eRJR").axes[0]
    paths = _filled_band(ax).get_paths()
    (entry,) = SCAN["contours"]
    for line in entry["expected"]:
        points = np.asarray(line, dtype=float)
        # along the line, ten points between each pair of vertices
        t = np.linspace(0, 1, 10, endpoint=False)
        dense = np.concatenate([a + t[:, None] * (b - a) for a, b in zip(points[:-1], points[1:], strict=True)])
        inside = np.zeros(len(dense), dtype=bool)
        for path in paths:
            inside |= path.contains_points(dense, radius=0.5)
        assert inside.mean() > 0.97, f"only {inside.mean():.0%} of the expected line lies in the band"
    # and the band is no blob: it stays off the points far from every expected crossing
    far = np.array([[500.0, 300.0], [150.0, 0.0]])
    assert not any(path.contains_points(far).any() for path in paths)


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("which", ["contour", "brazil"])
def test_a_long_label_does_not_run_into_the_legend(which):
    label = "ATLAS-SUSY-2018-04 (subset of points), a long label for the plot"
    figure = plots.plot_contour(SCAN, label=label) if which == "contour" else plots.plot_brazil(LIMIT, label=label)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = figure.axes[0]
    legend = ax.get_legend().get_window_extent(renderer)
    texts = [t for t in [*ax.texts, ax.title, ax._left_title, ax._right_title] if t.get_text()]
    assert any(label in t.get_text() for t in texts)
    for text in texts:
        assert not _overlaps(text.get_window_extent(renderer), legend), text.get_text()


def test_drawing_a_plot_logs_no_font_warning(tmp_path, caplog):
    """The figures draw in the style they were made in (math in TeX Gyre Heros): matplotlib never
    looks for the 'cursive' family, even with vrelab's log filter taken away."""
    import logging

    from matplotlib import font_manager

    from vrelab.plots import style as plot_style

    logger = logging.getLogger("matplotlib.font_manager")
    logger.removeFilter(plot_style._FILTER)
    font_manager.FontManager._findfont_cached.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="matplotlib.font_manager"):
            for name, draw in DRAW.items():
                render(draw(), tmp_path / f"{name}.png")
    finally:
        plot_style.quiet_cursive_lookup()
    assert not [r.getMessage() for r in caplog.records if "findfont" in r.getMessage()]


def test_the_font_filter_drops_only_the_cursive_lookup(caplog):
    """A caller's own figure made in the style and drawn outside it: the one harmless warning is
    dropped, other font warnings still reach the log."""
    import logging

    from matplotlib import font_manager

    figure = Figure()
    with plots.style():
        figure.add_subplot().set_xlabel(r"$\mu$ [GeV]")
    font_manager.FontManager._findfont_cached.cache_clear()
    with caplog.at_level(logging.WARNING, logger="matplotlib.font_manager"):
        render(figure, Path(os.devnull))
        font_manager.findfont("No Such Font Family")
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "cursive" in m], messages
    assert [m for m in messages if "No Such Font Family" in m], messages


def test_plots_for_recognises_every_result_kind():
    assert list(plots.plots_for(HYPOTEST)) == ["CLs"]
    assert list(plots.plots_for(LIMIT)) == ["Brazil band"]
    assert list(plots.plots_for(SCAN)) == ["contour"]
    names = list(plots.plots_for(MLE))
    assert names[:2] == ["pulls", "correlations"]
    assert names[2:] == [f"{y['channel']} {s}" for y in MLE["yields"] for s in ("pre-fit", "post-fit")]
    assert isinstance(plots.plots_for(MLE)["SR_meff post-fit"](), Figure)
    with pytest.raises(ValueError, match="not the result of a fit job"):
        plots.plots_for({"state": "failed"})
    assert plots.axis_label("mn1") == r"$m(\tilde{\chi}^{0}_{1})$ [GeV]"
    assert plots.axis_label("m_stau").startswith(r"$m(\tilde{\tau})$")
    assert plots.axis_label("lifetime") == "lifetime"
    assert plots.poi_tex("mu_SIG") == r"\mu_{\mathrm{SIG}}" and plots.poi_tex(None) == r"\mu"


def small_mle(n: int = 8) -> dict:
    """The MLE result cut to its first n parameters (quicker to draw, same shape)."""
    small = copy.deepcopy(MLE)
    for key in ("labels", "bestfit", "uncertainty", "fixed"):
        small[key] = small[key][:n]
    small["correlations"] = [row[:n] for row in small["correlations"][:n]]
    small["pulls"] = [p for p in small["pulls"] if p["parameter"] in small["labels"]]
    return small


def test_save_plots_writes_one_pdf_or_one_file_per_plot(tmp_path):
    mle = small_mle()
    (pdf,) = save_plots(mle, tmp_path / "fit.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", data)) == 6  # one page per plot
    written = save_plots(mle, tmp_path / "fit.png", dpi=40)
    assert [p.name for p in written] == [
        "fit-pulls.png",
        "fit-correlations.png",
        "fit-CRtt_meff-pre-fit.png",
        "fit-CRtt_meff-post-fit.png",
        "fit-SR_meff-pre-fit.png",
        "fit-SR_meff-post-fit.png",
    ]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)
    (single,) = save_plots(LIMIT, tmp_path / "brazil.svg", poi="mu_SIG")
    assert single.name == "brazil.svg" and b"<svg" in single.read_bytes()[:500]
    assert emit_plots(None, "unused", "fit.mle", mle, None) == []
    assert [p.name for p in emit_plots(None, "unused", "fit.mle", mle, str(tmp_path / "m.svg"))][:2] == [
        "m-pulls.svg",
        "m-correlations.svg",
    ]


def test_save_plots_refuses_what_it_cannot_write(tmp_path):
    with pytest.raises(BadRequest, match="does not exist"):
        save_plots(HYPOTEST, tmp_path / "no" / "such" / "cls.png")
    with pytest.raises(BadRequest, match="format suffix"):
        save_plots(HYPOTEST, tmp_path / "cls")
    with pytest.raises(BadRequest, match="Cannot save the plot"):
        save_plots(HYPOTEST, tmp_path / "cls.notaformat")
    with pytest.raises(BadRequest, match="not the result of a fit job"):
        save_plots({"hello": 1}, tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []
