"""The sidebar's Fits tab in real Chromium, on a real published likelihood: a CLs test started from
the tab's form (workspace and patch picked from the server's lists) runs, shows its progress and
then its result inline (a compact summary, its headline number and a plot); a job submitted from
Python appears and finishes live; "Open in a notebook" makes a notebook whose cells show the same
result through the client and the FitPanel."""

from __future__ import annotations

import shutil

import pytest

from browser_fixtures import assert_no_console_errors, layout_problems, open_tab, screenshots_in_both_themes
from servers import LIKELIHOODS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIKELIHOOD = "3L-eRJR"  # 4 one-bin channels: a hypotest takes seconds
PATCH = "ERJR_350p0_50p0"


@pytest.fixture(scope="module")
def client(a_jupyterlab):
    from vrelab.client import Client

    with Client(a_jupyterlab.url, a_jupyterlab.token) as c:
        yield c


@pytest.fixture(scope="module")
def workspace(a_jupyterlab, client) -> dict:
    assert (LIKELIHOODS / LIKELIHOOD).is_dir(), f"the published likelihoods are missing from {LIKELIHOODS}"
    target = a_jupyterlab.root / "likelihoods" / LIKELIHOOD
    if not target.exists():
        shutil.copytree(LIKELIHOODS / LIKELIHOOD, target)
    ws = client.fit.add(path=f"likelihoods/{LIKELIHOOD}")
    assert PATCH in [p["name"] for p in client.fit.patches(ws["id"])["patches"]]
    return ws


def _summary(item) -> dict[str, str]:
    summary = item.locator(".jp-vrelab-FitSummary")
    summary.wait_for(timeout=60_000)
    return dict(zip(summary.locator("dt").all_inner_texts(), summary.locator("dd").all_inner_texts(), strict=True))


def test_a_cls_test_started_from_the_tab_shows_its_result_inline(lab_page, client, workspace):
    page = lab_page
    open_tab(page, "fits")
    form = page.locator("#vrelab-fits .jp-vrelab-FitForm")
    # the workspace and patch lists are the server's own
    page.wait_for_function(
        "(id) => [...document.querySelectorAll('.jp-vrelab-FitWorkspace option')].some(o => o.value === id)",
        arg=workspace["id"],
        timeout=30_000,
    )
    form.get_by_label("Workspace", exact=True).select_option(workspace["id"])
    page.wait_for_function(
        "(n) => document.querySelectorAll('.jp-vrelab-FitPatch option').length === n + 1",  # + "(no patch)"
        arg=workspace["n_patches"],
        timeout=30_000,
    )
    form.get_by_label("Patch", exact=True).select_option(PATCH)
    form.get_by_label("Run", exact=True).select_option("fit.hypotest")
    form.get_by_label("POI value").fill("1")
    form.locator("summary", has_text="More options").click()
    form.get_by_label("Fix shapesys γ with τ above").fill("1e8")
    before = {j["id"] for j in client.jobs(kind="fit.hypotest")["jobs"]}
    form.locator(".jp-vrelab-FitRun").click()

    # the new job shows at once, open, and finishes with its result inline
    page.wait_for_function(
        "(ids) => [...document.querySelectorAll('.jp-vrelab-FitJob')].some(e => !ids.includes(e.dataset.jobId))",
        arg=sorted(before),
        timeout=30_000,
    )
    job_id = next(j["id"] for j in client.jobs(kind="fit.hypotest")["jobs"] if j["id"] not in before)
    job = client.job(job_id)
    assert job["params"]["patch"] == PATCH and job["params"]["workspace_id"] == workspace["id"]
    assert job["params"]["fix_shapesys_tau_above"] == 1e8 and job["params"]["poi_value"] == 1.0
    item = page.locator(f".jp-vrelab-FitJob[data-job-id='{job_id}']")
    # opened by the tab itself once the server took it (the stream may show it a moment earlier)
    page.wait_for_function(
        "(id) => { const b = document.querySelector(`.jp-vrelab-FitJob[data-job-id='${id}'] .jp-vrelab-RowButton`);"
        " return !!b && b.getAttribute('aria-expanded') === 'true'; }",
        arg=job_id,
        timeout=30_000,
    )
    page.wait_for_function(
        f"document.querySelector(\".jp-vrelab-FitJob[data-job-id='{job_id}']\").dataset.kind === 'ok'",
        timeout=120_000,
    )
    result = client.result(client.job(job_id))
    shown = _summary(item)
    assert float(shown["CLs observed"]) == pytest.approx(result["CLs_obs"], rel=1e-3)
    assert float(shown["CLs expected"]) == pytest.approx(result["CLs_exp"][2], rel=1e-3)
    low, high = (float(v) for v in shown["±1σ"].split("–"))
    assert (low, high) == (pytest.approx(result["CLs_exp"][1], rel=1e-3), pytest.approx(result["CLs_exp"][3], rel=1e-3))
    assert shown["Excluded"] == ("yes, at 95% CL" if result["CLs_obs"] < 0.05 else "no, at 95% CL")
    # its headline number in the list, and its picture: the observed CLs on the expected band
    assert item.locator(".jp-vrelab-Headline").inner_text().startswith(f"CLs {result['CLs_obs']:.3g}")
    plot = item.locator("svg.jp-vrelab-Plot[data-plot='cls']")
    assert plot.locator(".jp-vrelab-Band1").count() == 1 and plot.locator(".jp-vrelab-ObservedPoint").count() == 1
    assert layout_problems(page, "#vrelab-sidebar") == []
    screenshots_in_both_themes(page, "sidebar-fits-started")

    # once closed, a finished job still says what it found
    item.locator(".jp-vrelab-RowButton").click()
    assert item.locator(".jp-vrelab-FitSummary").count() == 0
    assert item.locator(".jp-vrelab-Headline").count() == 1
    assert_no_console_errors(page)


def test_a_limit_submitted_from_python_finishes_live_then_opens_in_a_notebook(
    lab_page, a_jupyterlab, client, workspace
):
    page = lab_page
    open_tab(page, "fits")
    page.wait_for_selector("#vrelab-fits .jp-vrelab-Footer:has-text('Live')", timeout=30_000)

    # submitted from Python while the tab watches: the job shows up without a refresh
    job = client.submit(
        "fit.limit",
        {"workspace_id": workspace["id"], "patch": PATCH, "scan": {"start": 0, "stop": 5, "steps": 6},
         "fix_shapesys_tau_above": 1e8},
    )  # fmt: skip
    item = page.locator(f".jp-vrelab-FitJob[data-job-id='{job['id']}']")
    item.wait_for(timeout=30_000)
    assert PATCH in item.inner_text()
    page.wait_for_function(
        f"document.querySelector(\".jp-vrelab-FitJob[data-job-id='{job['id']}']\").dataset.kind === 'ok'",
        timeout=180_000,
    )
    # finishing opens its summary and its Brazil band
    result = client.job(job["id"])["result"]
    shown = _summary(item)
    assert float(shown["Observed limit"]) == pytest.approx(result["obs_limit"], rel=1e-3)
    assert float(shown["Expected limit"]) == pytest.approx(result["exp_limits"][2], rel=1e-3)
    plot = item.locator("svg.jp-vrelab-Plot[data-plot='brazil']")
    assert plot.locator(".jp-vrelab-Band2").count() == 1 and plot.locator(".jp-vrelab-Observed").count() == 1
    screenshots_in_both_themes(page, "sidebar-fits")

    # open in a notebook: cells that load this job through the client and show it in the FitPanel
    item.locator(".jp-vrelab-OpenNotebook").click()
    page.wait_for_function(
        "(() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.context && w.context.path.endsWith('.ipynb') && w.context.isReady"
        " && w.content.model.cells.length > 1 && w.content.model.cells.get(0).sharedModel.getSource() !== ''; })()",
        timeout=30_000,
    )
    sources = page.evaluate(
        "(() => { const cells = window.jupyterapp.shell.currentWidget.content.model.cells;"
        " return [...Array(cells.length).keys()].map(i => cells.get(i).sharedModel.getSource()); })()"
    )
    assert f'job = client.job("{job["id"]}")' in sources[0]
    assert f'FitPanel(client, workspace="{workspace["id"]}")' in sources[1]
    path = page.evaluate("window.jupyterapp.shell.currentWidget.context.path")
    assert (a_jupyterlab.root / path).is_file() and path.endswith(".ipynb")
    # and the cells work: the kernel finds this server by itself; the FitPanel shows the limit
    page.wait_for_function(
        "(() => { const s = window.jupyterapp.shell.currentWidget.sessionContext;"
        " return s.session && s.session.kernel && s.session.kernel.status === 'idle'; })()",
        timeout=90_000,
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output .widget-vbox").first
    panel.wait_for(timeout=120_000)
    page.wait_for_function(
        "document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea').textContent"
        ".includes('fit.limit succeeded')",
        timeout=90_000,
    )
    page.wait_for_function(
        "(() => { const t = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .vrelab-table');"
        " return !!t && t.textContent.includes('observed upper limit'); })()",
        timeout=90_000,
    )
    assert panel.locator("img").count() >= 1, "the FitPanel draws the Brazil band"
    page.evaluate("window.jupyterapp.serviceManager.sessions.shutdownAll()")  # the kernel is done
    assert_no_console_errors(page)
