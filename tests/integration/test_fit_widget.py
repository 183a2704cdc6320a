"""The FitPanel widget, driven in the test process against a real Jupyter server with vrelab:
a CLs on a published likelihood shown as a table and a plot, and bad input shown in its banner."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from pathlib import Path

import pytest

pyhf = pytest.importorskip("pyhf")
pytest.importorskip("ipywidgets")
pytest.importorskip("mplhep")

from matplotlib.figure import Figure  # noqa: E402
from test_fit_api import simple_patchset, simple_workspace  # noqa: E402

from servers import JupyterServerProcess  # noqa: E402
from vrelab.client import Client  # noqa: E402
from vrelab.widgets import FitPanel  # noqa: E402

LIKELIHOODS = Path(os.environ.get("VRELAB_LIKELIHOODS", Path(__file__).parents[3] / "shared" / "likelihoods"))
from likelihoods import needs_likelihoods  # noqa: E402

# the smallest published likelihood (4 one-bin channels); a patch whose CLs is neither 0 nor 1
LIKELIHOOD = "3L-eRJR"
PATCH = "ERJR_350p0_150p0"
ARCHIVE = "ATLAS-SUSY-2018-04_likelihoods.tar.gz"  # HEPData's archive of the staus likelihoods


@pytest.fixture(scope="module")
def fit_server(tmp_path_factory):
    server = JupyterServerProcess(tmp_path_factory.mktemp("fit-widget"), vrelab_config={"fit_workers": 1})
    server.start()
    if LIKELIHOODS.is_dir():
        shutil.copytree(LIKELIHOODS / LIKELIHOOD, server.root / LIKELIHOOD)
        shutil.copy(LIKELIHOODS / "archives" / ARCHIVE, server.root / ARCHIVE)
    yield server
    server.stop()


@pytest.fixture
def client(fit_server):
    with Client(fit_server.url, fit_server.token) as c:
        yield c


def shown_png(panel: FitPanel) -> bytes:
    (output,) = panel.plot_output.outputs
    return base64.b64decode(output["data"]["image/png"])


@needs_likelihoods
def test_cls_on_a_published_likelihood_shows_a_table_and_a_plot(client):
    reference = json.loads((LIKELIHOODS / LIKELIHOOD / "reference.json").read_text())["results"][PATCH]
    panel = FitPanel(client)
    assert panel.banner.message == ""
    panel.source.value = LIKELIHOOD
    panel.add_button.click()
    assert panel.banner.message == ""
    assert panel.workspace.value and "64 patches" in panel.workspace.label
    assert PATCH in panel.patch.options and "labels mn2, mn1" in panel.info.value and "mu_SIG" in panel.info.value

    panel.patch.value = PATCH
    panel.set_action("fit.hypotest")
    panel.fix_tau.value = "1e8"  # as the reference was computed: ultra-stiff shapesys gammas fixed
    panel.run_button.click()
    assert panel.run_button.disabled and panel.progress is not None
    job = panel.wait(timeout=300)
    assert job["state"] == "succeeded", panel.banner.message
    assert panel.banner.message == "" and not panel.run_button.disabled
    assert panel.progress.bar.value == 1.0 and panel.progress.bar.bar_style == "success"
    assert job["params"]["patch"] == PATCH and job["params"]["fix_shapesys_tau_above"] == 1e8

    result = panel.result
    assert result["CLs_obs"] == pytest.approx(reference["CLs_obs"], abs=1e-4)
    assert result["CLs_exp"] == pytest.approx(reference["CLs_exp"], abs=1e-4)
    table = panel.table.value
    assert re.search(rf'data-key="CLs_obs">{re.escape(format(result["CLs_obs"], ".4g"))}<', table)
    assert re.search(rf'data-key="CLs_exp">{re.escape(format(result["CLs_exp"][2], ".4g"))}<', table)
    assert "not excluded" in table  # CLs_obs 0.15 > 0.05

    assert panel.plot_choice.options == ("CLs",)
    assert isinstance(panel.figure, Figure)
    assert shown_png(panel).startswith(b"\x89PNG")

    # the same workspace chosen by id in a new panel; the same test again comes from the cache
    again = FitPanel(client, workspace=panel.workspace.value)
    assert again.workspace.value == panel.workspace.value and again.banner.message == ""
    again.patch.value = PATCH
    again.fix_tau.value = "1e8"
    again.run()
    assert again.wait(timeout=120)["state"] == "succeeded"
    assert again.result["cached"] is True and again.result["CLs_obs"] == result["CLs_obs"]
    assert "from the cache" in again.table.value


def test_scan_limit_and_fit_show_their_tables_and_plots(client):
    ws = simple_workspace()
    panel = FitPanel(client, workspace=ws, patchset=simple_patchset(ws), name="simple")
    assert panel.banner.message == "" and "6 patches" in panel.workspace.label
    panel.set_action("fit.scan")
    assert panel.patch.disabled and panel.scan_box.layout.display is None
    panel.run()
    assert panel.wait(timeout=300)["state"] == "succeeded", panel.banner.message
    assert panel.result["n_points"] == 6 and "pt_300_50" in panel.table.value
    assert panel.plot_choice.options == ("contour",) and shown_png(panel).startswith(b"\x89PNG")

    panel.set_action("fit.limit")  # root finding between "POI from" and "to"
    assert panel.limit_box.layout.display is None and panel.poi_box.layout.display == "none"
    panel.run()
    assert panel.wait(timeout=300)["state"] == "succeeded", panel.banner.message
    limit = panel.result
    assert limit["method"] == "toms748" and 0 < limit["obs_limit"] < 5 and panel.job["params"]["patch"] == "pt_100_0"
    assert re.search(rf'data-key="obs_limit">{re.escape(format(limit["obs_limit"], ".4g"))}<', panel.table.value)
    assert panel.plot_choice.options == ("Brazil band",) and shown_png(panel).startswith(b"\x89PNG")

    panel.set_action("fit.mle")
    panel.run()
    assert panel.wait(timeout=300)["state"] == "succeeded", panel.banner.message
    names = panel.plot_choice.options
    assert names[:2] == ("pulls", "correlations") and "singlechannel post-fit" in names
    first = shown_png(panel)
    panel.plot_choice.value = "singlechannel post-fit"  # choosing another plot draws it
    assert shown_png(panel) != first and "uncorr_bkguncrt" in panel.table.value


def test_bad_input_is_shown_in_the_banner_never_raised(client):
    panel = FitPanel(client)
    panel.source.value = "../../etc"
    panel.add_button.click()
    assert "leads outside your home folder" in panel.banner.message
    assert "Traceback" not in panel.banner.value and panel.banner.layout.display is None

    bad = simple_workspace()
    bad["channels"][0]["samples"][0]["data"] = "many"
    broken = FitPanel(client, workspace=bad)
    assert "channels[0].samples[0].data" in broken.banner.message

    panel.add_workspace(simple_workspace())
    assert panel.banner.message == ""
    panel.fix_tau.value = "lots"
    assert panel.run() is None and "must be a number" in panel.banner.message
    panel.fix_tau.value = ""
    panel.set_action("fit.hypotest")
    panel.poi_value.value = 50.0  # outside the POI's bounds [0, 10]: the job fails
    panel.run()
    job = panel.wait(timeout=300)
    assert job["state"] == "failed" and "outside the POI's bounds" in panel.banner.message
    assert not panel.run_button.disabled

    panel.set_action("fit.nothing")
    assert "Unknown action" in panel.banner.message
    panel.show_plot("no such plot")
    assert "No plot named" in panel.banner.message
    panel.workspace.value = None
    assert panel.run() is None and "Choose a workspace first" in panel.banner.message
    nowhere = FitPanel(Client("http://127.0.0.1:9/", "x", timeout=2))
    assert "Cannot reach the vrelab server" in nowhere.banner.message


@needs_likelihoods
def test_a_hepdata_archive_is_added_by_region(client):
    panel = FitPanel(client)
    panel.source.value = ARCHIVE
    panel.add_button.click()  # the archive holds several likelihoods: the banner names them
    assert "Region-combined" in panel.banner.message and panel.source.value == ARCHIVE
    panel.region.value = "Region-combined"
    panel.add_button.click()
    assert panel.banner.message == "" and panel.source.value == ""
    assert "57 patches" in panel.workspace.label and "DS_100_1_Staus" in panel.patch.options
