"""The sidebar's Fits tab in real Chromium: a hypothesis test on a real published likelihood,
submitted through the Python client, appears, runs and finishes live in the tab, its CLs values
shown; "Open in notebook" makes a notebook whose cell loads the result."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from browser_fixtures import assert_no_console_errors, open_tab, screenshots_in_both_themes

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIKELIHOODS = Path(os.environ.get("VRELAB_LIKELIHOODS", Path(__file__).parents[3] / "shared" / "likelihoods"))
LIKELIHOOD = "3L-eRJR"  # 4 one-bin channels: a hypotest takes seconds
PATCH = "ERJR_350p0_50p0"


@pytest.fixture(scope="module")
def client(a_jupyterlab):
    from vrelab.client import Client

    with Client(a_jupyterlab.url, a_jupyterlab.token) as c:
        yield c


def test_a_fit_job_appears_and_finishes_live_then_opens_in_a_notebook(lab_page, a_jupyterlab, client):
    page = lab_page
    assert (LIKELIHOODS / LIKELIHOOD).is_dir(), f"the published likelihoods are missing from {LIKELIHOODS}"
    shutil.copytree(LIKELIHOODS / LIKELIHOOD, a_jupyterlab.root / "likelihoods" / LIKELIHOOD)
    ws = client.fit.add(path=f"likelihoods/{LIKELIHOOD}")
    patches = [p["name"] for p in client.fit.patches(ws["id"])["patches"]]
    assert PATCH in patches

    open_tab(page, "fits")
    page.wait_for_selector("#vrelab-fits .jp-vrelab-Footer:has-text('Live')", timeout=30_000)

    # submitted from Python while the tab watches: the job shows up without a refresh
    job = client.submit("fit.hypotest", {"workspace_id": ws["id"], "patch": PATCH, "fix_shapesys_tau_above": 1e8})
    item = page.locator(f".jp-vrelab-FitJob[data-job-id='{job['id']}']")
    item.wait_for(timeout=30_000)
    assert PATCH in item.inner_text()
    page.wait_for_function(
        f"document.querySelector(\".jp-vrelab-FitJob[data-job-id='{job['id']}']\").dataset.kind === 'ok'",
        timeout=120_000,
    )
    # finishing opens its summary: the CLs values are the job's own
    summary = item.locator(".jp-vrelab-FitSummary")
    summary.wait_for(timeout=30_000)
    result = client.job(job["id"])["result"]
    shown = dict(zip(summary.locator("dt").all_inner_texts(), summary.locator("dd").all_inner_texts(), strict=True))
    assert float(shown["CLs observed"]) == pytest.approx(result["CLs_obs"], rel=1e-3)
    assert float(shown["CLs expected"].split()[0]) == pytest.approx(result["CLs_exp"][2], rel=1e-3)
    assert shown["Excluded"] == ("yes, at 95% CL" if result["CLs_obs"] < 0.05 else "no, at 95% CL")
    screenshots_in_both_themes(page, "sidebar-fits")

    # open in notebook: a new notebook whose cell loads this job's result through the client
    item.locator(".jp-vrelab-Button", has_text="Open in notebook").click()
    page.wait_for_function(
        "(() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.context && w.context.path.endsWith('.ipynb') && w.context.isReady"
        " && w.content.model.cells.length > 0 && w.content.model.cells.get(0).sharedModel.getSource() !== ''; })()",
        timeout=30_000,
    )
    source = page.evaluate("window.jupyterapp.shell.currentWidget.content.model.cells.get(0).sharedModel.getSource()")
    assert f'Client().job("{job["id"]}")' in source
    path = page.evaluate("window.jupyterapp.shell.currentWidget.context.path")
    assert (a_jupyterlab.root / path).is_file() and path.endswith(".ipynb")
    # and the cell works: the kernel finds this server by itself and prints the job's kind and state
    page.wait_for_function(
        "(() => { const s = window.jupyterapp.shell.currentWidget.sessionContext;"
        " return s.session && s.session.kernel && s.session.kernel.status === 'idle'; })()",
        timeout=90_000,
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    output = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output").first
    output.wait_for(timeout=90_000)
    page.wait_for_function(
        "document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea').textContent"
        ".includes('fit.hypotest succeeded')",
        timeout=90_000,
    )
    page.evaluate("window.jupyterapp.serviceManager.sessions.shutdownAll()")  # the kernel is done
    assert_no_console_errors(page)
